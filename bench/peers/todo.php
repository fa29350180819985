<?php
// The JSON todo API of plugins/todo in PHP-FPM: json_encode, the todos in
// APCu (Debian's php8.2-apcu), PHP's shared memory between requests.
//
//   GET    /todos       200, the todos by id: [{"id":1,"title":"todo 1","done":false},...]
//   POST   /todos       {"title":S,"done":B}, done optional -> 201, Location, the new todo
//   GET    /todos/{id}  200 and the todo, or 404 {"error":"no todo N"}
//   PUT    /todos/{id}  {"title":S,"done":B}, either optional -> 200 and the todo
//   DELETE /todos/{id}  204
//
// Why APCu: PHP-FPM shares nothing between requests otherwise. Building the
// N seeded todos in PHP on every request would make each request's cost grow
// with N and lose every write; APCu keeps one entry per todo in shared
// memory, like fcgid's and Go's map in their process, so GET /todos/{id}
// fetches (copies) one todo, whatever N is. The todos 1..N ("todo N", not
// done) are written on the first request; N is the pool's env[TODO_SEED].
// APCu's own lock makes each call atomic; a read-modify-write (PUT) is not,
// which is fine for the benchmark's one static child.

function answer(int $status, $value): void {
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($value);
}

function todo_error(int $status, string $message): void {
    answer($status, ['error' => $message]);
}

function json_body(): ?array {
    $in = json_decode(file_get_contents('php://input'), true);
    return is_array($in) ? $in : null;
}

$seed = (int) (getenv('TODO_SEED') ?: 0);
// The first request seeds; apcu_add() lets exactly one do it.
if (apcu_fetch('todo:seed') !== $seed && apcu_add('todo:seed', $seed)) {
    $items = [];
    for ($id = 1; $id <= $seed; $id++) {
        $items["todo:$id"] = ['id' => $id, 'title' => "todo $id", 'done' => false];
    }
    if ($items) apcu_store($items);
    apcu_store('todo:last', $seed);
}

$method = $_SERVER['REQUEST_METHOD'] ?? 'GET';
$path = strtok($_SERVER['REQUEST_URI'] ?? '/', '?');

if ($path === '/todos') {
    if ($method === 'GET' || $method === 'HEAD') {
        $last = (int) apcu_fetch('todo:last');
        $keys = [];
        for ($id = 1; $id <= $last; $id++) $keys[] = "todo:$id";
        $found = $keys ? apcu_fetch($keys) : [];
        $list = [];
        foreach ($keys as $key) {
            if (isset($found[$key])) $list[] = $found[$key];
        }
        answer(200, $list);
    } elseif ($method === 'POST') {
        $in = json_body();
        if ($in === null || !isset($in['title']) || !is_string($in['title'])) {
            todo_error(400, 'missing "title"');
        } else {
            $id = apcu_inc('todo:last');
            $todo = ['id' => $id, 'title' => $in['title'], 'done' => ($in['done'] ?? false) === true];
            apcu_store("todo:$id", $todo);
            header("Location: /todos/$id");
            answer(201, $todo);
        }
    } else {
        header('Allow: GET, HEAD, POST');
        todo_error(405, 'method not allowed');
    }
} elseif (preg_match('#^/todos/([^/]+)$#', $path, $m)) {
    $text = $m[1];
    $id = ctype_digit($text) ? (int) $text : 0;
    $key = "todo:$id";
    $todo = $id > 0 ? apcu_fetch($key) : false;
    if ($method !== 'GET' && $method !== 'HEAD' && $method !== 'PUT' && $method !== 'DELETE') {
        header('Allow: DELETE, GET, HEAD, PUT');
        todo_error(405, 'method not allowed');
    } elseif ($todo === false) {
        todo_error(404, "no todo $text");
    } elseif ($method === 'PUT') {
        $in = json_body();
        if ($in === null) {
            todo_error(400, 'malformed JSON body');
        } else {
            if (isset($in['title']) && is_string($in['title'])) $todo['title'] = $in['title'];
            if (isset($in['done']) && is_bool($in['done'])) $todo['done'] = $in['done'];
            apcu_store($key, $todo);
            answer(200, $todo);
        }
    } elseif ($method === 'DELETE') {
        apcu_delete($key);
        http_response_code(204);
    } else {
        answer(200, $todo);
    }
} else {
    todo_error(404, 'not found');
}
