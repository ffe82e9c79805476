package storage_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/v8assets/v8assets/storage"
)

// A store that answers conditional PUTs with 501 NotImplemented (as some
// S3-compatible stores do) gets a plain PUT instead, and later writes skip
// the condition. The fake is narrow: it only speaks PutObject and
// HeadObject.
func TestS3ConditionalWriteFallback(t *testing.T) {
	var mu sync.Mutex
	objects := map[string][]byte{}
	var conditional, plain int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodPut:
			if r.Header.Get("If-None-Match") != "" {
				conditional++
				w.WriteHeader(http.StatusNotImplemented)
				io.WriteString(w, `<?xml version="1.0"?><Error><Code>NotImplemented</Code><Message>no conditions</Message></Error>`)
				return
			}
			plain++
			b, _ := io.ReadAll(r.Body)
			objects[r.URL.Path] = b
			w.Header().Set("ETag", `"x"`)
		case http.MethodHead:
			b, ok := objects[r.URL.Path]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	defer srv.Close()
	s, err := storage.NewS3(context.Background(), storage.S3Config{Key: "k", Secret: "s", Bucket: "b", Endpoint: srv.URL, Root: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d/a.jpg", "d/b.jpg"} {
		info, err := s.Create(context.Background(), name, []byte("hello"), false)
		if err != nil || info.Size != 5 {
			t.Fatalf("Create(%s) = %+v, %v", name, info, err)
		}
	}
	if conditional != 1 || plain != 2 || string(objects["/b/gen/d/a.jpg"]) != "hello" {
		t.Errorf("conditional PUTs %d (want 1), plain PUTs %d (want 2), objects %v", conditional, plain, objects)
	}
}
