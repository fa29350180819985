// The Go standard library's hello: net/http/fcgi serving an http.Handler.
// A goroutine per connection and per request; it answers FCGI_GET_VALUES
// with FCGI_MPXS_CONNS=1.
//
//	go_hello 127.0.0.1:9000    listen on TCP
//	go_hello unix:/path/sock   listen on a unix socket
//
// For the benchmark's other rows, as fcgid's bench plugins: `?size=N`
// answers N bytes of body (64 KiB writes), a request with a body reads all
// of it and answers its length, and `?sleep_us=N` answers "done" after
// sleeping N µs in the request's goroutine (slow work off the loop).
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go_hello HOST:PORT|unix:PATH")
		os.Exit(2)
	}
	network, address := "tcp", os.Args[1]
	if strings.HasPrefix(address, "unix:") {
		network, address = "unix", strings.TrimPrefix(address, "unix:")
	}
	listener, err := net.Listen(network, address)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_hello:", err)
		os.Exit(1)
	}
	chunk := []byte(strings.Repeat("x", 64*1024))
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 0 {
			n, _ := io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "%d\n", n)
			return
		}
		// Only a request with a query pays for parsing it: hello has none.
		var query url.Values
		if r.URL.RawQuery != "" {
			query = r.URL.Query()
		}
		if size, err := strconv.ParseInt(query.Get("size"), 10, 64); err == nil && size > 0 {
			w.Header().Set("Content-Type", "application/octet-stream")
			for size > 0 {
				n := int64(len(chunk))
				if size < n {
					n = size
				}
				w.Write(chunk[:n])
				size -= n
			}
			return
		}
		if us, err := strconv.Atoi(query.Get("sleep_us")); err == nil && us > 0 {
			time.Sleep(time.Duration(us) * time.Microsecond)
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "done\n")
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<h1>Hello, World!</h1>")
	})
	if err := fcgi.Serve(listener, hello); err != nil {
		fmt.Fprintln(os.Stderr, "go_hello:", err)
		os.Exit(1)
	}
}
