// Command fileserver is the baseline of bench/hits.sh: the standard
// library's http.ServeFile over a directory, with nothing else in the way.
//
//	fileserver -listen 127.0.0.1:9000 -root DIR
package main

import (
	"flag"
	"log"
	"net/http"
	"path/filepath"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	root := flag.String("root", ".", "directory to serve")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(*root, filepath.FromSlash(r.URL.Path)))
	})))
}
