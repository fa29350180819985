// The JSON todo API of plugins/todo in Go's standard library:
// net/http/fcgi, encoding/json, a map behind a sync.Mutex. A goroutine per
// connection and per request, as in go_hello.go.
//
//	GET    /todos       200, the todos by id: [{"id":1,"title":"todo 1","done":false},...]
//	POST   /todos       {"title":S,"done":B}, done optional -> 201, Location, the new todo
//	GET    /todos/{id}  200 and the todo, or 404 {"error":"no todo N"}
//	PUT    /todos/{id}  {"title":S,"done":B}, either optional -> 200 and the todo
//	DELETE /todos/{id}  204
//
// A malformed body or a missing title is a 400 {"error":...}; another
// method a 405. The todos 1..N ("todo N", not done) exist from the start:
//
//	go_todo [-seed N] 127.0.0.1:9000    listen on TCP
//	go_todo [-seed N] unix:/path/sock   listen on a unix socket
//
// -seed defaults to $TODO_SEED, else 0.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

type todo struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

type store struct {
	mu     sync.Mutex
	todos  map[int64]todo
	nextID int64
}

func newStore(seed int64) *store {
	s := &store{todos: make(map[int64]todo, seed), nextID: seed + 1}
	for id := int64(1); id <= seed; id++ {
		s.todos[id] = todo{ID: id, Title: fmt.Sprintf("todo %d", id)}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

func (s *store) list(w http.ResponseWriter) {
	s.mu.Lock()
	all := make([]todo, 0, len(s.todos))
	for _, t := range s.todos {
		all = append(all, t)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	writeJSON(w, http.StatusOK, all)
}

func (s *store) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title *string `json:"title"`
		Done  bool    `json:"done"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return
	}
	if in.Title == nil {
		writeError(w, http.StatusBadRequest, "missing \"title\"")
		return
	}
	s.mu.Lock()
	t := todo{ID: s.nextID, Title: *in.Title, Done: in.Done}
	s.nextID++
	s.todos[t.ID] = t
	s.mu.Unlock()
	w.Header().Set("Location", "/todos/"+strconv.FormatInt(t.ID, 10))
	writeJSON(w, http.StatusCreated, t)
}

func (s *store) one(w http.ResponseWriter, r *http.Request, idText string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no todo "+idText)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.mu.Lock()
		t, ok := s.todos[id]
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "no todo "+idText)
			return
		}
		writeJSON(w, http.StatusOK, t)
	case http.MethodPut:
		var in struct {
			Title *string `json:"title"`
			Done  *bool   `json:"done"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
			return
		}
		s.mu.Lock()
		t, ok := s.todos[id]
		if ok {
			if in.Title != nil {
				t.Title = *in.Title
			}
			if in.Done != nil {
				t.Done = *in.Done
			}
			s.todos[id] = t
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "no todo "+idText)
			return
		}
		writeJSON(w, http.StatusOK, t)
	case http.MethodDelete:
		s.mu.Lock()
		_, ok := s.todos[id]
		delete(s.todos, id)
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "no todo "+idText)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "DELETE, GET, HEAD, PUT")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (s *store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/todos":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.list(w)
		case http.MethodPost:
			s.create(w, r)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	case strings.HasPrefix(path, "/todos/") && !strings.Contains(path[len("/todos/"):], "/") && len(path) > len("/todos/"):
		s.one(w, r, path[len("/todos/"):])
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

func main() {
	seedDefault := int64(0)
	if env := os.Getenv("TODO_SEED"); env != "" {
		n, err := strconv.ParseInt(env, 10, 64)
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "go_todo: TODO_SEED must be a count:", env)
			os.Exit(2)
		}
		seedDefault = n
	}
	seed := flag.Int64("seed", seedDefault, "create the todos 1..N at start")
	flag.Parse()
	if flag.NArg() != 1 || *seed < 0 {
		fmt.Fprintln(os.Stderr, "usage: go_todo [-seed N] HOST:PORT|unix:PATH")
		os.Exit(2)
	}
	network, address := "tcp", flag.Arg(0)
	if strings.HasPrefix(address, "unix:") {
		network, address = "unix", strings.TrimPrefix(address, "unix:")
	}
	listener, err := net.Listen(network, address)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_todo:", err)
		os.Exit(1)
	}
	if err := fcgi.Serve(listener, newStore(*seed)); err != nil {
		fmt.Fprintln(os.Stderr, "go_todo:", err)
		os.Exit(1)
	}
}
