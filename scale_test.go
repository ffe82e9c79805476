package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/internal/fixture"
)

func TestMain(m *testing.M) {
	// serve run in-process starts its generation workers from this test
	// binary.
	if len(os.Args) == 2 && os.Args[1] == workerCommand {
		os.Exit(generator.ServeWorker())
	}
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// s3Config turns a MariaDB config for the fixture into one whose storage is
// the S3 server, under v8's default prefixes.
func s3Config(t *testing.T, th *fixture.Thumper, srv *fixture.S3Server, addr string) string {
	t.Helper()
	return s3ConfigVia(t, th, srv, srv.Endpoint, addr)
}

// s3ConfigVia is s3Config with the S3 endpoint replaced (a proxy in front of
// the server).
func s3ConfigVia(t *testing.T, th *fixture.Thumper, srv *fixture.S3Server, endpoint, addr string) string {
	t.Helper()
	path := mysqlConfig(t, th, addr)
	b, _ := os.ReadFile(path)
	cfg := string(b)
	cfg = cfg[:strings.Index(cfg, "[projects.thumper.storage]")] + fmt.Sprintf(`[projects.thumper.storage]
adapter = "s3"
key = %q
secret = %q
bucket = %q
endpoint = %q
region = "us-east-1"
root = "uploads/thumper/originals"
thumb_root = "uploads/thumper/generated"
[projects.thumper.storage.options]
CacheControl = "max-age=31536000"
`, srv.Key, srv.Secret, srv.Bucket, endpoint)
	os.WriteFile(path, []byte(cfg), 0o644)
	return path
}

// Two processes, one MariaDB, one bucket.
func TestTwoInstancesShareS3(t *testing.T) {
	th := fixture.NewThumper(t)
	srv := fixture.NewS3(t)
	srv.PutDir(t, th.Root, "uploads/thumper/originals/")
	// Both instances write through a proxy that records each upload's
	// answer, so the test can tell how many writes landed.
	target, _ := url.Parse(srv.Endpoint)
	var mu sync.Mutex
	var puts []int
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/generated/") {
			httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(rec, r)
		mu.Lock()
		puts = append(puts, rec.status)
		mu.Unlock()
	}))
	defer proxy.Close()
	addrA, addrB := freeAddr(t), freeAddr(t)
	cfg := s3ConfigVia(t, th, srv, proxy.URL, addrA)
	startProcess(t, cfg, addrA)
	startProcess(t, cfg, addrB, "V8ASSETS_SERVER_LISTEN="+addrB)

	var wg sync.WaitGroup
	bodies := make([][]byte, 50)
	statuses := make([]int, 50)
	for i := range 50 {
		addr := addrA
		if i%2 == 1 {
			addr = addrB
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get("http://" + addr + "/thumper/assets/" + fixture.AvatarHash + "?key=directus-large-crop")
			if err != nil {
				return
			}
			defer res.Body.Close()
			statuses[i] = res.StatusCode
			bodies[i], _ = io.ReadAll(res.Body)
		}()
	}
	wg.Wait()
	for i := range 50 {
		if statuses[i] != 200 || !bytes.Equal(bodies[i], bodies[0]) || len(bodies[0]) == 0 {
			t.Fatalf("request %d: status %d, %d bytes (first %d)", i, statuses[i], len(bodies[i]), len(bodies[0]))
		}
	}
	keys := srv.Keys(t, "uploads/thumper/generated/")
	if len(keys) != 1 || keys[0] != "uploads/thumper/generated/w800,h600,fcrop,q80/"+fixture.AvatarDisk {
		t.Fatalf("stored objects %v", keys)
	}
	if !bytes.Equal(srv.Get(t, keys[0]), bodies[0]) {
		t.Errorf("stored object differs from what was served")
	}
	// Exactly one upload landed; any other was refused as already there
	// (412) or in progress (409).
	mu.Lock()
	landed := 0
	for _, st := range puts {
		switch {
		case st >= 200 && st < 300:
			landed++
		case st != 412 && st != 409:
			t.Errorf("upload answered %d", st)
		}
	}
	if landed != 1 {
		t.Errorf("%d uploads landed (answers %v), want exactly 1", landed, puts)
	}
	mu.Unlock()

	// A hash rotated through A is gone on B within the freshness bound.
	req, _ := http.NewRequest("POST", "http://"+addrA+"/thumper/files/1/rotate-hash", nil)
	req.Header.Set("Authorization", "Bearer "+fixture.AdminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("rotate on A: %v %v", err, res)
	}
	var rotated struct {
		Data struct {
			PrivateHash string `json:"private_hash"`
		}
	}
	json.NewDecoder(res.Body).Decode(&rotated)
	res.Body.Close()
	// B's lookup cache sees the change (within change_probe plus one probe;
	// TestServeFreshness counts the probes, here a slow machine gets time).
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		res, err = http.Get("http://" + addrB + "/thumper/assets/" + fixture.AvatarHash)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == 404 {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("old hash on B still answers %d after %v", res.StatusCode, time.Since(start))
		}
	}
	res, err = http.Get("http://" + addrB + "/thumper/assets/" + rotated.Data.PrivateHash + "?key=directus-large-crop")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("new hash on B: %v %v", err, res)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(b, bodies[0]) {
		t.Errorf("new hash on B served other bytes")
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
