package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/v8assets/v8assets/internal/fixture"
)

// apiRoot makes a v8 API root with config/ and the upload folders of
// project.
func apiRoot(t *testing.T, project string) string {
	t.Helper()
	root := t.TempDir()
	for _, dir := range []string{"config", "public/uploads/" + project + "/originals", "public/uploads/" + project + "/generated"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// v8's own sample config becomes a config.toml that check-config accepts,
// with every used value carried over and the rest named as skipped.
func TestImportV8Example(t *testing.T) {
	root := apiRoot(t, "project-name")
	out := filepath.Join(t.TempDir(), "config.toml")
	code, stdout, stderr := runCLI(t, "import-v8-config", "-api-root", root, "-o", out, "testdata/v8config/_example.php")
	if code != 0 || stdout != "wrote "+out+"\n" {
		t.Fatalf("exit %d out %q err %q", code, stdout, stderr)
	}
	cfg, err := LoadConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Projects["_example"]
	if p == nil || p.Database.Host != "localhost" || p.Database.Port != 3306 || p.Database.Name != "directus" ||
		p.Database.Username != "root" || p.Database.Password != "root" || p.Storage.Root != filepath.Join(root, "public/uploads/project-name/originals") ||
		p.Storage.ThumbRoot != filepath.Join(root, "public/uploads/project-name/generated") || !p.CORS.Enabled ||
		strings.Join(p.CORS.Methods, ",") != "GET,POST,PUT,PATCH,DELETE,HEAD" {
		t.Errorf("project = %+v", p)
	}
	text, _ := os.ReadFile(out)
	for _, want := range []string{"# skipped cookie:", "# skipped mail:", "# skipped database.engine:", "# skipped storage.root_url:"} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if code, _, stderr := runCLI(t, "import-v8-config", "-o", out, "testdata/v8config/_example.php"); code != 1 || !strings.Contains(stderr, "not overwritten") {
		t.Errorf("overwrote %s: exit %d %q", out, code, stderr)
	}
	// Without -o the password stays off the terminal.
	code, stdout, _ = runCLI(t, "import-v8-config", "-api-root", root, "testdata/v8config/_example.php")
	if code != 0 || strings.Contains(stdout, `password = "root"`) || !strings.Contains(stdout, "V8ASSETS_PROJECTS__EXAMPLE_DATABASE_PASSWORD") {
		t.Errorf("stdout without -o: exit %d\n%s", code, stdout)
	}
}

// A config as v8's installer writes it, pointed at the §12 database, is
// imported and then served.
func TestImportV8InstallerServes(t *testing.T) {
	th := fixture.NewThumper(t)
	admin := fixture.AdminConfig(t)
	root := apiRoot(t, "thumper")
	src, _ := os.ReadFile("testdata/v8config/thumper.php")
	php := string(src)
	conn := "'host' => 'localhost',\n        'port' => 3306,"
	if admin.Net == "tcp" {
		host, port, _ := net.SplitHostPort(admin.Addr)
		conn = "'host' => '" + host + "',\n        'port' => " + port + ","
	} else {
		php = strings.Replace(php, "'socket' => '',", "'socket' => '"+admin.Addr+"',", 1)
	}
	php = strings.Replace(php, "'host' => 'localhost',\n        'port' => 3306,", conn, 1)
	php = strings.Replace(php, "'directus_thumper'", "'"+th.DBName+"'", 1)
	php = strings.Replace(php, "'directus'", "'"+admin.User+"'", 1)
	php = strings.Replace(php, `'pa$$ "w0rd"'`, "'"+admin.Passwd+"'", 1)
	if err := os.WriteFile(filepath.Join(root, "config", "thumper.php"), []byte(php), 0o644); err != nil {
		t.Fatal(err)
	}
	// The uploads v8 wrote: the fixture's originals.
	orig := filepath.Join(root, "public/uploads/thumper/originals")
	entries, _ := os.ReadDir(th.Root)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(th.Root, e.Name()))
		os.WriteFile(filepath.Join(orig, e.Name()), b, 0o644)
	}

	out := filepath.Join(t.TempDir(), "config.toml")
	if code, _, stderr := runCLI(t, "import-v8-config", "-o", out, filepath.Join(root, "config", "thumper.php")); code != 0 {
		t.Fatalf("import: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "check-config", "-config", out); code != 0 {
		t.Fatalf("check-config: exit %d %s", code, stderr)
	}
	addr := freeAddr(t)
	t.Setenv("V8ASSETS_SERVER_LISTEN", addr)
	base := startServe(t, out, addr)
	res, body := get(t, base+"/thumper/assets/"+fixture.AvatarHash)
	if res.StatusCode != 200 || !bytes.Equal(body, fixture.AvatarJPEG()) {
		t.Fatalf("avatar through the imported config: %d", res.StatusCode)
	}
	res, _ = get(t, base+"/thumper/assets/"+fixture.AvatarHash+"?key=thumbnail")
	if _, err := os.Stat(filepath.Join(root, "public/uploads/thumper/generated/w200,h200,fcontain,q80", fixture.AvatarDisk)); res.StatusCode != 200 || err != nil {
		t.Errorf("thumbnail: %d, %v", res.StatusCode, err)
	}
}

// What is not a literal is written as a comment for review, naming the
// file, the line and the variable that sets the key, and the command exits
// 3; the output is still valid TOML.
func TestImportV8NeedsReview(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.php")
	os.WriteFile(path, []byte(`<?php
return [
    'database' => [
        'host' => 'db',
        'name' => 'directus',
        'password' => getenv('DB_PASSWORD'),
        'driver_options' => [PDO::MYSQL_ATTR_SSL_CA => '/etc/ssl/ca.pem'],
    ],
    'storage' => ['adapter' => 'azure', 'root' => 'x' . '/y'],
];`), 0o644)
	code, stdout, stderr := runCLI(t, "import-v8-config", "-o", "-", path)
	if code != 3 || !strings.Contains(stderr, "need review") {
		t.Fatalf("exit %d err %q", code, stderr)
	}
	for _, want := range []string{
		"# REVIEW " + path + ":6: database.password is `getenv('DB_PASSWORD')`, not a literal; set it here or with V8ASSETS_PROJECTS_SITE_DATABASE_PASSWORD",
		"# REVIEW " + path + ":9: storage.adapter is not \"local\" or \"s3\"",
		"# REVIEW " + path + ":9: storage.root is `'x' . '/y'`, not a literal",
		"# skipped database.driver_options:",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}
	var doc map[string]any
	if _, err := toml.Decode(stdout, &doc); err != nil {
		t.Errorf("not TOML: %v\n%s", err, stdout)
	}
	for name, c := range map[string]struct {
		src  string
		code int
		want string
	}{
		"unterminated": {"<?php return ['a' => 'b", 1, "line 1: string not closed"},
		"deep":         {"<?php return " + strings.Repeat("[", 5000), 1, "nested more than"},
		"huge":         {"<?php return [];" + strings.Repeat("/* x */", 10<<20/7), 1, "larger than any v8 config file"},
		"php code":     {"<?php\n$config = require 'x.php';\nreturn $config;", 1, "line 2: expected `return"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".php")
		os.WriteFile(p, []byte(c.src), 0o644)
		if code, _, stderr := runCLI(t, "import-v8-config", p); code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d %q, want %d and %q", name, code, stderr, c.code, c.want)
		}
	}
}

// A crafted v8 config cannot smuggle TOML through what the importer
// quotes in comments: a newline in a key or an expression stays inside its
// comment, and the output configures nothing the file did not say.
func TestImportV8EscapesComments(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.php")
	inject := `\n[server]\nlisten = \"0.0.0.0:8080\"\ntrusted_proxies = [\"0.0.0.0/0\"]\n[projects.etc.storage]\nroot = \"/etc\"\n`
	os.WriteFile(path, []byte(`<?php
return [
    "skipped`+inject+`" => 1,
    'database' => ["x`+inject+`" => 2, 'host' => 'db'],
    'storage' => ['root' => "a" . "`+inject+`"],
];`), 0o644)
	code, stdout, stderr := runCLI(t, "import-v8-config", "-o", "-", path)
	if code != 3 {
		t.Fatalf("exit %d, want 3 (the expression needs review): %s", code, stderr)
	}
	var doc struct {
		Server   map[string]any
		Projects map[string]any
	}
	if _, err := toml.Decode(stdout, &doc); err != nil {
		t.Fatalf("not TOML: %v\n%s", err, stdout)
	}
	if len(doc.Server) != 0 || len(doc.Projects) != 1 || doc.Projects["site"] == nil {
		t.Errorf("the output configures server %v and projects %v:\n%s", doc.Server, doc.Projects, stdout)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, "0.0.0.0") && !strings.HasPrefix(line, "#") {
			t.Errorf("injected line outside a comment: %q", line)
		}
	}
}

// A key given twice in a PHP array keeps its last value, as PHP does: the
// output has it once, says so, and check-config accepts it.
func TestImportV8DuplicateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.php")
	os.WriteFile(path, []byte(`<?php
return [
    'database' => [
        'host' => 'first',
        'name' => 'directus',
        'host' => 'second',
    ],
];`), 0o644)
	code, stdout, stderr := runCLI(t, "import-v8-config", "-o", "-", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(stdout, "host = ") != 1 || !strings.Contains(stdout, `host = "second"`) ||
		!strings.Contains(stdout, "# "+path+":4: database.host is given again on line 6; PHP keeps the last value") {
		t.Errorf("output:\n%s", stdout)
	}
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(stdout), 0o644)
	os.MkdirAll(filepath.Join(dir, "uploads", "site", "originals"), 0o755)
	if code, out, errOut := runCLI(t, "check-config", "-config", cfg); code != 0 {
		t.Errorf("check-config: exit %d %s %s", code, out, errOut)
	}
}

// Several files: the exit code says review when any file needs it, not
// just the last; -o writes a file only its owner can read; two files of
// one project name are refused; a password with quotes and backslashes
// comes through exactly.
func TestImportV8Files(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(src), 0o644)
		return p
	}
	needsReview := write("a/review.php", `<?php return ['database' => ['password' => getenv('X')]];`)
	password := `pa"ss\word'`
	clean := write("a/clean.php", `<?php return ['database' => ['name' => 'd', 'password' => 'pa"ss\\word\'']];`)
	out := filepath.Join(dir, "config.toml")
	code, _, stderr := runCLI(t, "import-v8-config", "-o", out, needsReview, clean)
	if code != 3 {
		t.Errorf("a file needing review, then a clean one: exit %d, want 3 (%s)", code, stderr)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("-o file mode %v, want 0600 (it holds passwords)", st.Mode().Perm())
	}
	var doc struct {
		Projects map[string]struct{ Database struct{ Password string } }
	}
	if _, err := toml.DecodeFile(out, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Projects["clean"].Database.Password; got != password {
		t.Errorf("password %q, want %q", got, password)
	}
	again := write("b/clean.php", `<?php return [];`)
	if code, _, stderr := runCLI(t, "import-v8-config", clean, again); code != 1 || !strings.Contains(stderr, `are both project "clean"`) {
		t.Errorf("one project twice: exit %d %q", code, stderr)
	}
}
