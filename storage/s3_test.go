package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/storage"
)

func newS3(t *testing.T, srv *fixture.S3Server, root string) *storage.S3 {
	t.Helper()
	s, err := storage.NewS3(context.Background(), storage.S3Config{
		Key: srv.Key, Secret: srv.Secret, Bucket: srv.Bucket, Endpoint: srv.Endpoint, Root: root,
		CacheControl: "max-age=60", ACL: "public-read",
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Store(t *testing.T) {
	srv := fixture.NewS3(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	srv.Put(t, "uploads/thumper/originals/a.jpg", data)
	o := newS3(t, srv, "/uploads/thumper/originals/")
	if o.String() != "s3://uploads/uploads/thumper/originals/" {
		t.Errorf("String = %q", o.String())
	}
	obj, info, err := o.Open(ctx, "a.jpg")
	if err != nil || info.Size != int64(len(data)) || info.ModTime.IsZero() {
		t.Fatalf("Open = %+v, %v", info, err)
	}
	defer obj.Close()
	if _, err := obj.Seek(1234, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 10)
	if _, err := io.ReadFull(obj, part); err != nil || !bytes.Equal(part, data[1234:1244]) {
		t.Fatalf("ranged read %q, %v", part, err)
	}
	if end, _ := obj.Seek(0, io.SeekEnd); end != int64(len(data)) {
		t.Errorf("size by seek = %d", end)
	}
	obj.Seek(0, io.SeekStart)
	if all, err := io.ReadAll(obj); err != nil || !bytes.Equal(all, data) {
		t.Fatalf("full read: %d bytes, %v", len(all), err)
	}
	for name, want := range map[string]error{"missing.jpg": storage.ErrNotExist, "../secret": storage.ErrOutsideRoot, "/abs": storage.ErrOutsideRoot} {
		if _, _, err := o.Open(ctx, name); !errors.Is(err, want) {
			t.Errorf("Open(%q) = %v, want %v", name, err, want)
		}
	}
	if err := o.Check(ctx, false); err != nil {
		t.Errorf("Check: %v", err)
	}

	g := newS3(t, srv, "uploads/thumper/generated")
	if _, err := g.Create(ctx, "w1,h1,fcrop,q1/a.jpg", []byte("first"), false); err != nil {
		t.Fatal(err)
	}
	// Without replace the first write wins (If-None-Match: *).
	if info, err := g.Create(ctx, "w1,h1,fcrop,q1/a.jpg", []byte("second!"), false); err != nil || info.Size != 5 {
		t.Errorf("conditional create over an existing object: %+v %v", info, err)
	}
	if got := srv.Get(t, "uploads/thumper/generated/w1,h1,fcrop,q1/a.jpg"); string(got) != "first" {
		t.Errorf("object = %q, want the first write", got)
	}
	if _, err := g.Create(ctx, "w1,h1,fcrop,q1/a.jpg", []byte("replaced"), true); err != nil {
		t.Fatal(err)
	}
	if got := srv.Get(t, "uploads/thumper/generated/w1,h1,fcrop,q1/a.jpg"); string(got) != "replaced" {
		t.Errorf("object = %q after replace", got)
	}
	head, err := srv.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &srv.Bucket, Key: aws.String("uploads/thumper/generated/w1,h1,fcrop,q1/a.jpg")})
	if err != nil || aws.ToString(head.CacheControl) != "max-age=60" || aws.ToString(head.ContentType) != "image/jpeg" {
		t.Errorf("options.CacheControl / content type not applied: %v %v", head, err)
	}

	g.Create(ctx, "w2,h2,fcrop,q1/b.jpg", []byte("b"), false)
	names, err := g.List(ctx, ".")
	if err != nil || !slices.Equal(names, []string{"w1,h1,fcrop,q1/a.jpg", "w2,h2,fcrop,q1/b.jpg"}) {
		t.Errorf("List = %v, %v", names, err)
	}
	if names, _ := g.List(ctx, "w2,h2,fcrop,q1"); !slices.Equal(names, []string{"w2,h2,fcrop,q1/b.jpg"}) {
		t.Errorf("List(dir) = %v", names)
	}
	if err := g.Remove(ctx, "w2,h2,fcrop,q1/b.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Stat(ctx, "w2,h2,fcrop,q1/b.jpg"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("removed object: %v", err)
	}
}

// Many concurrent conditional writers of one key: all succeed, one write
// lands.
// options.ACL travels with every write: versitygw keeps no object ACLs, so
// the test reads the x-amz-acl header of the uploads through a recording
// proxy in front of it.
func TestS3WritesCarryTheACL(t *testing.T) {
	srv := fixture.NewS3(t)
	target, _ := url.Parse(srv.Endpoint)
	var mu sync.Mutex
	var acls []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			acls = append(acls, r.Header.Get("X-Amz-Acl"))
			mu.Unlock()
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	s, err := storage.NewS3(context.Background(), storage.S3Config{
		Key: srv.Key, Secret: srv.Secret, Bucket: srv.Bucket, Endpoint: proxy.URL, Root: "gen", ACL: "public-read"})
	if err != nil {
		t.Fatal(err)
	}
	for i, replace := range []bool{false, true} {
		if _, err := s.Create(context.Background(), fmt.Sprintf("w1,h1,fcrop,q1/%d.jpg", i), []byte("x"), replace); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(acls, []string{"public-read", "public-read"}) {
		t.Errorf("x-amz-acl of the uploads: %q", acls)
	}
}

func TestS3ConcurrentCreate(t *testing.T) {
	srv := fixture.NewS3(t)
	checkFirstWriteLands(t, newS3(t, srv, "gen"))
	if keys := srv.Keys(t, "gen/"); len(keys) != 1 {
		t.Errorf("keys %v", keys)
	}
}

func TestLocalConcurrentCreate(t *testing.T) {
	for range 20 {
		l, err := storage.CreateLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		checkFirstWriteLands(t, l)
	}
}

// checkFirstWriteLands races twenty writers of distinguishable bytes (writer
// i writes i+1 bytes) at one name without replace: exactly one lands, the
// others are told the winner's Info, and the stored bytes are the winner's.
func checkFirstWriteLands(t *testing.T, s storage.Store) {
	t.Helper()
	const writers = 20
	data := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, i+1) }
	var wg sync.WaitGroup
	infos := make([]storage.Info, writers)
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			infos[i], errs[i] = s.Create(context.Background(), "d/x.jpg", data(i), false)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
		if infos[i].Size == int64(i+1) {
			if winner >= 0 {
				t.Fatalf("writers %d and %d both landed", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no writer landed: %+v", infos)
	}
	obj, _, err := s.Open(context.Background(), "d/x.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	stored, _ := io.ReadAll(obj)
	if !bytes.Equal(stored, data(winner)) {
		t.Fatalf("stored %q, the winner (%d) wrote %q", stored, winner, data(winner))
	}
	for i, info := range infos {
		if info.Size != int64(len(stored)) {
			t.Errorf("writer %d was told size %d, stored is %d", i, info.Size, len(stored))
		}
	}
}

// On S3 the sweep removes a temporary object left under the thumb prefix
// once it is older than the cutoff, and nothing else.
func TestS3SweepTemp(t *testing.T) {
	srv := fixture.NewS3(t)
	ctx := context.Background()
	srv.Put(t, "thumbs/w1,h1,fcrop,q80/"+storage.TempPrefix+"dead", []byte("x"))
	srv.Put(t, "thumbs/w1,h1,fcrop,q80/a.jpg", []byte("x"))
	s := newS3(t, srv, "thumbs")
	removed, err := storage.SweepTemp(ctx, s, time.Now().Add(-time.Hour))
	if err != nil || len(removed) != 0 {
		t.Fatalf("young object swept: %q, %v", removed, err)
	}
	removed, err = storage.SweepTemp(ctx, s, time.Now().Add(time.Minute))
	if err != nil || !slices.Equal(removed, []string{"w1,h1,fcrop,q80/" + storage.TempPrefix + "dead"}) {
		t.Fatalf("removed %q, %v", removed, err)
	}
	if keys := srv.Keys(t, "thumbs/"); !slices.Equal(keys, []string{"thumbs/w1,h1,fcrop,q80/a.jpg"}) {
		t.Errorf("left %q", keys)
	}
}
