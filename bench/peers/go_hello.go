// The Go standard library's hello: net/http/fcgi serving an http.Handler.
// A goroutine per connection and per request; it answers FCGI_GET_VALUES
// with FCGI_MPXS_CONNS=1.
//
//	go_hello 127.0.0.1:9000    listen on TCP
//	go_hello unix:/path/sock   listen on a unix socket
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"strings"
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
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<h1>Hello, World!</h1>")
	})
	if err := fcgi.Serve(listener, hello); err != nil {
		fmt.Fprintln(os.Stderr, "go_hello:", err)
		os.Exit(1)
	}
}
