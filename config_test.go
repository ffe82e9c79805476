package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/BurntSushi/toml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"uploads/site/originals", "uploads/site/generated"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimal = `
[projects.site.database]
name = "directus"
`

func TestShippedConfig(t *testing.T) {
	cfg, err := LoadConfig("config.toml")
	if err != nil {
		t.Fatal(err)
	}
	demo := cfg.Projects["demo"]
	if demo == nil || demo.Database.Type != "sqlite" || demo.Storage.Root != filepath.Join("uploads", "demo", "originals") {
		t.Fatalf("demo project = %+v", demo)
	}
}

func TestConfigDefaultsAndPaths(t *testing.T) {
	path := writeConfig(t, minimal)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	p := cfg.Projects["site"]
	want := ProjectConfig{
		Database: DatabaseConfig{Type: "mysql", Host: "127.0.0.1", Port: 3306, Name: "directus", Username: "root",
			QueryTimeout: Duration{2 * time.Second}},
		Storage: StorageConfig{Adapter: "local", Root: filepath.Join(dir, "uploads/site/originals"),
			ThumbRoot: filepath.Join(dir, "uploads/site/generated")},
	}
	if p.Database != want.Database || p.Storage != want.Storage {
		t.Errorf("project = %+v\nwant      %+v", *p, want)
	}
	if !p.CORS.Enabled || !slices.Equal(p.CORS.Origin, []string{"*"}) || len(p.CORS.Methods) != 6 || p.CORS.Credentials {
		t.Errorf("cors defaults = %+v", p.CORS)
	}
	if cfg.Server.Listen != "127.0.0.1:8080" || cfg.Server.GenerationQueue != 256 || cfg.Server.GenerationTimeout.Duration != 30*time.Second ||
		cfg.Server.LogFormat != "json" || cfg.Server.LogLevel != "info" || cfg.Server.ShutdownTimeout.Duration != 30*time.Second ||
		cfg.Server.MetricsListen != "" || cfg.Server.MaintenanceFile != "" {
		t.Errorf("server defaults = %+v", cfg.Server)
	}
	if p.MaxDimension != 6000 || p.MaxSourcePixels != 50_000_000 || !p.AutoOrient || p.RequireWhitelist || p.CacheTTL != 0 {
		t.Errorf("thumbnail defaults = %+v", *p)
	}
	if p.MaxSourceBytes.Bytes != 200<<20 || cfg.Server.MaxGenerationMemory.Bytes != 512<<20 {
		t.Errorf("memory defaults = %v, %v", p.MaxSourceBytes, cfg.Server.MaxGenerationMemory)
	}
	if p.ChangeProbe.Duration != 250*time.Millisecond || p.StaleIfError.Duration != time.Minute || p.LookupCacheEntries != 100_000 {
		t.Errorf("cache defaults = %+v", *p)
	}
}

func TestThumbnailKeys(t *testing.T) {
	path := writeConfig(t, `
[server]
generation_timeout = "5s"
max_generations = 3
maintenance_file = "logs/maintenance"
[projects.site]
require_whitelist = true
max_dimension = 2000
auto_orient = false
[projects.site.database]
name = "directus"
`)
	t.Setenv("V8ASSETS_PROJECTS_SITE_MAX_SOURCE_PIXELS", "1000000")
	t.Setenv("V8ASSETS_PROJECTS_SITE_CACHE_TTL", "3600")
	t.Setenv("V8ASSETS_SERVER_GENERATION_QUEUE", "7")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Projects["site"]
	if !p.RequireWhitelist || p.MaxDimension != 2000 || p.AutoOrient || p.MaxSourcePixels != 1_000_000 || p.CacheTTL != 3600 {
		t.Errorf("project = %+v", *p)
	}
	if cfg.Server.GenerationTimeout.Duration != 5*time.Second || cfg.Server.MaxGenerations != 3 || cfg.Server.GenerationQueue != 7 ||
		cfg.Server.MaintenanceFile != filepath.Join(filepath.Dir(path), "logs", "maintenance") {
		t.Errorf("server = %+v", cfg.Server)
	}
	t.Setenv("V8ASSETS_SERVER_GENERATION_TIMEOUT", "soon")
	t.Setenv("V8ASSETS_PROJECTS_SITE_MAX_DIMENSION", "0")
	_, err = LoadConfig(path)
	for _, want := range []string{"server.generation_timeout: environment V8ASSETS_SERVER_GENERATION_TIMEOUT: not a duration", "projects.site.max_dimension: must be at least 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]struct {
		body string
		want []string
	}{
		"unknown key": {minimal + "nmae = 1\n[projects.site.storage]\nthumbroot = 'x'\n",
			[]string{"projects.site.database.nmae: unknown key", "projects.site.storage.thumbroot: unknown key"}},
		"unknown top-level key": {minimal + "[metrics]\nlisten = ':9'\n", []string{"metrics.listen: unknown key"}},
		"missing database name": {"[projects.site.database]\nhost = 'db'\n", []string{"projects.site.database.name: required"}},
		"bad project name": {"[projects.'bad name'.database]\nname = 'x'\n",
			[]string{"projects.bad name: project name must use only"}},
		"unreadable root": {minimal + "[projects.site.storage]\nroot = 'nowhere'\n",
			[]string{"projects.site.storage.root: unreadable"}},
		"bad database type":     {minimal + "type = 'postgres'\n", []string{`projects.site.database.type: must be "mysql" or "sqlite"`}},
		"sqlite without path":   {"[projects.site.database]\ntype = 'sqlite'\n", []string{"projects.site.database.path: required"}},
		"bad adapter":           {minimal + "[projects.site.storage]\nadapter = 'azure'\n", []string{"projects.site.storage.adapter"}},
		"wrong value type":      {minimal + "port = '3306'\n", []string{`projects.site.database.port: must be an integer, not the string "3306"`}},
		"no projects":           {"[server]\nlisten = ':1'\n", []string{"projects: at least one"}},
		"empty listen":          {"[server]\nlisten = ''\n" + minimal, []string{"server.listen: required"}},
		"syntax error":          {"[server\n", []string{"(syntax)"}},
		"reserved name":         {"[projects.server.database]\nname = 'x'\n", []string{"projects.server: \"server\" is reserved"}},
		"s3 without bucket":     {minimal + "[projects.site.storage]\nadapter = 's3'\n", []string{"projects.site.storage.bucket: required for the s3 adapter"}},
		"s3 key, no secret":     {minimal + "[projects.site.storage]\nadapter = 's3'\nbucket = 'b'\nkey = 'AKIA'\n", []string{"projects.site.storage.secret: required when storage.key is set"}},
		"unknown s3 option":     {minimal + "[projects.site.storage.options]\nGrant = 'x'\n", []string{"projects.site.storage.options.Grant: unknown key"}},
		"log format":            {"[server]\nlog_format = 'xml'\n" + minimal, []string{`server.log_format: must be "json" or "text"`}},
		"log level":             {"[server]\nlog_level = 'loud'\n" + minimal, []string{"server.log_level: must be"}},
		"shutdown timeout":      {"[server]\nshutdown_timeout = '0s'\n" + minimal, []string{"server.shutdown_timeout: must be positive"}},
		"auto_format value":     {"[projects.site]\nauto_format = ['avif', 'jxl']\n" + minimal, []string{`projects.site.auto_format: may list only "avif" and "webp", got "jxl"`}},
		"auto_format twice":     {"[projects.site]\nauto_format = ['webp', 'webp']\n" + minimal, []string{`projects.site.auto_format: lists "webp" twice`}},
		"auto_format a string":  {"[projects.site]\nauto_format = 'avif'\n" + minimal, []string{"projects.site.auto_format: must be"}},
		"bad duration":          {"[server]\nshutdown_timeout = 'soon'\n" + minimal, []string{`server.shutdown_timeout: not a duration (like "30s"): "soon"`}},
		"metrics on listen":     {"[server]\nlisten = '127.0.0.1:1'\nmetrics_listen = '127.0.0.1:1'\n" + minimal, []string{"server.metrics_listen: must differ"}},
		"bad size":              {"[server]\nmin_free_space = 'lots'\n" + minimal, []string{`server.min_free_space: not a size (like "256MiB"): "lots"`}},
		"bad size unit":         {"[server]\nmin_free_space = '5 parsecs'\n" + minimal, []string{`server.min_free_space: not a size`}},
		"auth failures":         {"[server]\nadmin_auth_failures = 0\n" + minimal, []string{"server.admin_auth_failures: must be at least 1"}},
		"trusted proxies":       {"[server]\ntrusted_proxies = ['10.0.0.0/8', 'nginx']\n" + minimal, []string{`server.trusted_proxies: not a CIDR range or address: "nginx"`}},
		"negative change probe": {minimal + "[projects.site]\nchange_probe = '-1s'\n", []string{"projects.site.change_probe: must not be negative"}},
		"cache entries":         {minimal + "[projects.site]\nlookup_cache_entries = 0\n", []string{"projects.site.lookup_cache_entries: must be at least 1"}},
		"negative stale":        {minimal + "[projects.site]\nstale_if_error = '-5s'\n", []string{"projects.site.stale_if_error: must not be negative"}},
		"query timeout":         {minimal + "query_timeout = '0s'\n", []string{"projects.site.database.query_timeout: must be positive"}},
		"generation memory":     {"[server]\nmax_generation_memory = '1MiB'\n" + minimal, []string{"server.max_generation_memory: must be at least 16MiB"}},
		"source bytes":          {minimal + "[projects.site]\nmax_source_bytes = '0'\n", []string{"projects.site.max_source_bytes: must be at least 1"}},
		"rendering":             {minimal + "[projects.site]\nrendering = 'gd'\n", []string{`projects.site.rendering: must be "fast" or "v8", got "gd"`}},
		"listen without port":   {"[server]\nlisten = 'localhost'\n" + minimal, []string{`server.listen: must be host:port`}},
		"listen port range":     {"[server]\nlisten = '127.0.0.1:99999'\n" + minimal, []string{`server.listen: port must be a number from 0 to 65535, got "99999"`}},
		"metrics listen":        {"[server]\nmetrics_listen = '9090'\n" + minimal, []string{`server.metrics_listen: must be host:port`}},
		"every problem at once": {"[projects.site.database]\nnmae = 'x'\n[projects.site.storage]\nroot = 'nowhere'\n",
			[]string{"projects.site.database.nmae: unknown key", "projects.site.database.name: required", "projects.site.storage.root: unreadable"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := writeConfig(t, c.body)
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), path+": "+w) {
					t.Errorf("error does not contain %q:\n%v", path+": "+w, err)
				}
			}
		})
	}
}

// Values of the wrong type do not stop the check at the first one: every
// problem is reported, each under its own key, and no valid key is called
// unknown.
func TestConfigTypeErrors(t *testing.T) {
	path := writeConfig(t, "[server]\ngeneration_timeout = '30 seconds'\nmax_generation_memory = 'lots'\nisolate_generations = 'yes'\n"+
		"[projects.site]\nchange_probe = 'fast'\nstale_if_error = 5\n[projects.site.database]\nname = 'x'\nport = '3306'\n"+
		"query_timeout = '2 seconds'\nbogus = 1\n[projects.site.storage]\nthumb_root = 7\n[projects.site.cors]\norigin = 'x'\n")
	_, err := LoadConfig(path)
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{`server.generation_timeout: not a duration (like "30s"): "30 seconds"`,
		`server.max_generation_memory: not a size (like "256MiB"): "lots"`,
		`server.isolate_generations: must be true or false, not the string "yes"`,
		`projects.site.change_probe: not a duration (like "30s"): "fast"`,
		`projects.site.stale_if_error: must be a string, not the integer 5`,
		`projects.site.database.port: must be an integer, not the string "3306"`,
		`projects.site.database.query_timeout: not a duration (like "30s"): "2 seconds"`,
		`projects.site.database.bogus: unknown key`,
		`projects.site.storage.thumb_root: must be a string, not the integer 7`,
		`projects.site.cors.origin: must be a list of strings, not the string "x"`}
	got := strings.Split(err.Error(), "\n")
	for i, w := range want {
		want[i] = path + ": " + w
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEnvOverrides(t *testing.T) {
	path := writeConfig(t, `
[projects.my-site.database]
name = "directus"
[projects.my-site.storage]
root = "uploads/site/originals"
`)
	t.Setenv("V8ASSETS_SERVER_LISTEN", "127.0.0.1:9999")
	t.Setenv("V8ASSETS_PROJECTS_MY_SITE_DATABASE_PASSWORD", "s3cret")
	t.Setenv("V8ASSETS_PROJECTS_MY_SITE_DATABASE_PORT", "3307")
	t.Setenv("V8ASSETS_PROJECTS_MY_SITE_CORS_ORIGIN", "https://a.test, https://b.test")
	t.Setenv("V8ASSETS_PROJECTS_MY_SITE_CORS_METHODS", `["GET", "HEAD"]`)
	t.Setenv("V8ASSETS_PROJECTS_MY_SITE_CORS_CREDENTIALS", "true")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Projects["my-site"]
	if cfg.Server.Listen != "127.0.0.1:9999" || p.Database.Password != "s3cret" || p.Database.Port != 3307 ||
		!slices.Equal(p.CORS.Origin, []string{"https://a.test", "https://b.test"}) ||
		!slices.Equal(p.CORS.Methods, []string{"GET", "HEAD"}) || !p.CORS.Credentials {
		t.Errorf("overrides not applied: listen %q project %+v", cfg.Server.Listen, *p)
	}

	t.Setenv("V8ASSETS_PROJECTS_MY_SITE_DATABASE_PORT", "many")
	_, err = LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "projects.my-site.database.port: environment V8ASSETS_PROJECTS_MY_SITE_DATABASE_PORT: not an integer") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestCheckConfig(t *testing.T) {
	path := writeConfig(t, minimal+"password = 'hunter2'\n[projects.site.storage]\nadapter = 's3'\nbucket = 'b'\nkey = 'AKIA'\nsecret = 's3cr3t'\nversion = 'latest'\nroot = '/prefix/'\n[projects.site.storage.options]\nACL = 'public-read'\n")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check-config", "-config", path}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if strings.Contains(out.String(), "hunter2") || strings.Contains(out.String(), "s3cr3t") || !strings.Contains(out.String(), `password = "********"`) ||
		!strings.Contains(out.String(), `secret = "********"`) || !strings.Contains(out.String(), `root = "/prefix/"`) {
		t.Errorf("password not masked:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `name = "directus"`) {
		t.Errorf("effective config missing:\n%s", out.String())
	}

	bad := writeConfig(t, "[projects.site.database]\nnmae = 'x'\n")
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"check-config", "-config", bad}, &out, &errOut); code != 1 {
		t.Fatalf("invalid config: exit %d", code)
	}
	if lines := strings.Count(strings.TrimSpace(errOut.String()), "\n") + 1; lines != 2 {
		t.Errorf("want 2 problems listed, got:\n%s", errOut.String())
	}

	t.Setenv("V8ASSETS_CONFIG", path)
	out.Reset()
	if code := run(context.Background(), []string{"check-config"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), path) {
		t.Errorf("V8ASSETS_CONFIG not used: exit %d %s", code, out.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Errorf("no args: exit %d %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	for _, help := range []string{"-h", "--help", "help"} {
		out.Reset()
		errOut.Reset()
		if code := run(context.Background(), []string{help}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "usage") || errOut.Len() != 0 {
			t.Errorf("%s: exit %d, out %q, err %q", help, code, out.String(), errOut.String())
		}
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"serve", "-h"}, &out, &errOut); code != 0 ||
		!strings.Contains(errOut.String(), "$V8ASSETS_CONFIG") || !strings.Contains(errOut.String(), "-listen") {
		t.Errorf("serve -h: exit %d %q", code, errOut.String())
	}
	for _, cmd := range []string{"rotate-hash", "index", "purge"} {
		errOut.Reset()
		if code := run(context.Background(), []string{cmd, "-config", "x.toml"}, &out, &errOut); code != 2 || errOut.String() != cmd+": -project NAME is required\n" {
			t.Errorf("%s without -project: exit %d %q", cmd, code, errOut.String())
		}
	}
}

// serve -listen overrides server.listen.
func TestServeListenFlag(t *testing.T) {
	path := writeConfig(t, "[server]\nlisten = \"127.0.0.1:1\"\n[projects.site.database]\ntype = \"sqlite\"\npath = \"directus.db\"\n")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &syncBuffer{}
	go func() { done <- run(ctx, []string{"serve", "-config", path, "-listen", addr}, io.Discard, logs) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/server/ping"); err == nil {
			res.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing on -listen %s:\n%s", addr, logs.String())
		}
	}
}

func TestServerHardeningKeys(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.MinFreeSpace.Bytes != 256<<20 || cfg.Server.AdminAuthFailures != 10 || len(cfg.Server.TrustedProxies) != 0 {
		t.Errorf("defaults: %+v", cfg.Server)
	}
	cfg, err = LoadConfig(writeConfig(t, "[server]\nmin_free_space = '2GiB'\nadmin_auth_failures = 3\ntrusted_proxies = ['127.0.0.1', '10.0.0.0/8', '::1']\n"+minimal))
	if err != nil {
		t.Fatal(err)
	}
	prefixes, _ := cfg.Server.Prefixes()
	if cfg.Server.MinFreeSpace.Bytes != 2<<30 || cfg.Server.AdminAuthFailures != 3 || fmt.Sprint(prefixes) != "[127.0.0.1/32 10.0.0.0/8 ::1/128]" {
		t.Errorf("set: %+v %v", cfg.Server, prefixes)
	}
	t.Setenv("V8ASSETS_SERVER_MIN_FREE_SPACE", "0")
	cfg, err = LoadConfig(writeConfig(t, minimal))
	if err != nil || cfg.Server.MinFreeSpace.Bytes != 0 {
		t.Errorf("env 0: %v %+v", err, cfg)
	}
	for in, want := range map[string]int64{"0": 0, "512": 512, "1KB": 1000, "3KiB": 3072, "256MiB": 256 << 20, " 1 TiB ": 1 << 40} {
		var sz Size
		if err := sz.UnmarshalText([]byte(in)); err != nil || sz.Bytes != want {
			t.Errorf("Size(%q) = %d, %v; want %d", in, sz.Bytes, err, want)
		}
	}
	var sz Size
	if err := sz.UnmarshalText([]byte("99999999999TiB")); err == nil {
		t.Errorf("overflow accepted: %d", sz.Bytes)
	}
}

// config.example.toml is a complete, valid configuration that sets every
// key there is.
func TestExampleConfig(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	os.WriteFile(path, b, 0o644)
	os.MkdirAll(filepath.Join(dir, "public/uploads/site/originals"), 0o755)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if len(cfg.Projects) != 2 || cfg.Projects["media"].Storage.Adapter != "s3" || cfg.Projects["media"].Rendering != "v8" {
		t.Errorf("projects: %+v", cfg.Projects)
	}
	var doc map[string]any
	if _, err := toml.Decode(string(b), &doc); err != nil {
		t.Fatal(err)
	}
	// Every key of the loaded structs appears in the file's site project
	// or server table (media shows the s3 keys).
	for _, key := range append(keysOf(reflect.TypeFor[ServerConfig](), "server"), keysOf(reflect.TypeFor[ProjectConfig](), "projects.site")...) {
		if strings.Contains(key, ".storage.") && !strings.HasSuffix(key, ".adapter") && !strings.HasSuffix(key, "root") {
			key = strings.Replace(key, "projects.site.", "projects.media.", 1)
		}
		if strings.HasSuffix(key, ".path") || strings.HasSuffix(key, ".seed") {
			continue // sqlite only
		}
		if !hasKey(doc, strings.Split(key, ".")) {
			t.Errorf("config.example.toml lacks %s", key)
		}
	}
}

// keysOf lists the toml keys of a config struct type, dotted under prefix.
func keysOf(typ reflect.Type, prefix string) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(textUnmarshaler) {
			keys = append(keys, keysOf(f.Type, prefix+"."+tag)...)
			continue
		}
		keys = append(keys, prefix+"."+tag)
	}
	return keys
}

func hasKey(doc map[string]any, path []string) bool {
	v, ok := doc[path[0]]
	if !ok || len(path) == 1 {
		return ok
	}
	m, ok := v.(map[string]any)
	return ok && hasKey(m, path[1:])
}
