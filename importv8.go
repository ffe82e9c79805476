package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/v8assets/v8assets/v8config"
)

// importFlags are the options of import-v8-config.
type importFlags struct {
	apiRoot string
	out     string
}

// importV8Config turns v8 project config files into one config.toml: to
// stdout with passwords and secrets left out, to -o FILE (never
// overwritten), or with everything to stdout with -o -. It exits 3 when a
// value needs review (not a literal, or a setting v8assets cannot take), 1
// on an unreadable file.
func importV8Config(files []string, f importFlags, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprintln(stderr, "import-v8-config: name one or more v8 config files, e.g. /var/www/directus/config/thumper.php")
		return 2
	}
	var out bytes.Buffer
	out.WriteString("# Written by v8assets import-v8-config from v8's project config files.\n")
	review := false
	seen := map[string]string{}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".php")
		if !projectName.MatchString(name) {
			fmt.Fprintf(stderr, "import-v8-config: %s: project name %q must use only 0-9 A-Z a-z _ -\n", path, name)
			return 1
		}
		if other, ok := seen[name]; ok {
			fmt.Fprintf(stderr, "import-v8-config: %s and %s are both project %q\n", other, path, name)
			return 1
		}
		seen[name] = path
		root, err := readV8Config(path)
		if err != nil {
			fmt.Fprintf(stderr, "import-v8-config: %s: %v\n", path, err)
			return 1
		}
		apiRoot := f.apiRoot
		if apiRoot == "" {
			abs, _ := filepath.Abs(path)
			apiRoot = filepath.Dir(filepath.Dir(abs))
		}
		e := &tomlEmitter{w: &out, file: path, project: name, apiRoot: apiRoot, secrets: f.out != ""}
		e.project1(root)
		review = review || e.review
	}
	switch f.out {
	case "":
		out.WriteString("# Passwords and secrets were left out: run with -o FILE (or -o -) to write them.\n")
		stdout.Write(out.Bytes())
	case "-":
		stdout.Write(out.Bytes())
	default:
		file, err := os.OpenFile(f.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			fmt.Fprintf(stderr, "import-v8-config: %s exists; not overwritten\n", f.out)
			return 1
		}
		if err == nil {
			_, err = file.Write(out.Bytes())
			if cerr := file.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			os.Remove(f.out)
			fmt.Fprintf(stderr, "import-v8-config: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s\n", f.out)
	}
	if review {
		fmt.Fprintln(stderr, "import-v8-config: some values need review: see the comments marked REVIEW")
		return 3
	}
	return 0
}

// readV8Config parses one v8 config file, refusing oversized ones before
// reading them.
func readV8Config(path string) (v8config.Value, error) {
	info, err := os.Stat(path)
	if err != nil {
		return v8config.Value{}, err
	}
	if info.Size() > v8config.MaxFileSize {
		return v8config.Value{}, fmt.Errorf("%d bytes: larger than any v8 config file (%d at most)", info.Size(), v8config.MaxFileSize)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return v8config.Value{}, err
	}
	return v8config.Parse(src)
}

// tomlEmitter writes one project's tables.
type tomlEmitter struct {
	w       *bytes.Buffer
	file    string
	project string
	apiRoot string
	secrets bool
	review  bool
}

// v8Keys are the parts of a v8 config v8assets reads; the others are
// skipped with a comment.
var v8Keys = map[string]func(*tomlEmitter, v8config.Value){
	"database": (*tomlEmitter).database,
	"storage":  (*tomlEmitter).storage,
	"cors":     (*tomlEmitter).cors,
}

func (e *tomlEmitter) project1(root v8config.Value) {
	fmt.Fprint(e.w, "\n")
	e.comment("%s", e.file)
	fmt.Fprintf(e.w, "[projects.%s]\n", e.project)
	for _, it := range root.Items {
		if _, ok := v8Keys[it.Key.Str]; !ok && it.Key.Kind == v8config.String {
			e.comment("skipped %s: v8assets does not use it", it.Key.Str)
		}
	}
	for _, it := range root.Items {
		emit, ok := v8Keys[it.Key.Str]
		if !ok || it.Key.Kind != v8config.String {
			continue
		}
		e.replaced(it.Key.Str, it)
		if it.Value.Kind != v8config.Array {
			e.reviewf(it.Value, it.Key.Str, "is not an array")
			continue
		}
		emit(e, it.Value)
	}
}

func (e *tomlEmitter) reviewf(v v8config.Value, key, format string, args ...any) {
	e.review = true
	e.comment("REVIEW %s:%d: %s %s; set it here or with %s", e.file, v.Line, key, fmt.Sprintf(format, args...),
		EnvName(append([]string{"projects", e.project}, strings.Split(key, ".")...)...))
}

// replaced notes the earlier values of a key given more than once: PHP
// keeps the last, and so does the output.
func (e *tomlEmitter) replaced(key string, it v8config.Item) {
	for _, line := range it.Replaced {
		e.comment("%s:%d: %s is given again on line %d; PHP keeps the last value, as here", e.file, line, key, it.Value.Line)
	}
}

// comment writes one comment line. What it quotes from v8's files (keys,
// expressions, paths) may hold newlines, which would end the comment and
// turn the rest into TOML: control characters are written escaped.
func (e *tomlEmitter) comment(format string, args ...any) {
	var b strings.Builder
	b.WriteString("# ")
	for _, r := range fmt.Sprintf(format, args...) {
		if r < 0x20 && r != '\t' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == 0x85 {
			fmt.Fprintf(&b, `\u%04X`, r)
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('\n')
	io.WriteString(e.w, b.String())
}

// table writes a table header and then each known key of v in v's order.
func (e *tomlEmitter) table(name string, v v8config.Value, keys map[string]func(key string, val v8config.Value)) {
	fmt.Fprintf(e.w, "\n[projects.%s.%s]\n", e.project, name)
	for _, it := range v.Items {
		key := name + "." + it.Key.Str
		if it.Key.Kind != v8config.String {
			continue
		}
		emit, ok := keys[it.Key.Str]
		if ok {
			e.replaced(key, it)
		}
		switch {
		case !ok:
			e.comment("skipped %s: v8assets does not use it", key)
		case it.Value.Kind == v8config.Expr:
			e.reviewf(it.Value, key, "is `%s`, not a literal", it.Value.Str)
		default:
			emit(key, it.Value)
		}
	}
}

func (e *tomlEmitter) str(key string, v v8config.Value) (string, bool) {
	switch v.Kind {
	case v8config.String:
		return v.Str, true
	case v8config.Int:
		return strconv.FormatInt(v.Int, 10), true
	}
	e.reviewf(v, key, "is not a string")
	return "", false
}

func (e *tomlEmitter) setString(key string, v v8config.Value) {
	if s, ok := e.str(key, v); ok {
		fmt.Fprintf(e.w, "%s = %s\n", lastPart(key), tomlString(s))
	}
}

func (e *tomlEmitter) setSecret(key string, v v8config.Value) {
	s, ok := e.str(key, v)
	switch {
	case !ok:
	case e.secrets:
		fmt.Fprintf(e.w, "%s = %s\n", lastPart(key), tomlString(s))
	default:
		fmt.Fprintf(e.w, "%s = \"\" # left out; set %s\n", lastPart(key), EnvName(append([]string{"projects", e.project}, strings.Split(key, ".")...)...))
	}
}

func (e *tomlEmitter) setBool(key string, v v8config.Value) {
	if v.Kind != v8config.Bool {
		e.reviewf(v, key, "is not true or false")
		return
	}
	fmt.Fprintf(e.w, "%s = %t\n", lastPart(key), v.Bool)
}

func (e *tomlEmitter) setInt(key string, v v8config.Value) {
	n, err := strconv.ParseInt(v.Str, 10, 64)
	switch {
	case v.Kind == v8config.Null:
		return
	case v.Kind == v8config.Int:
		n = v.Int
	case v.Kind != v8config.String || err != nil:
		e.reviewf(v, key, "is not an integer")
		return
	}
	fmt.Fprintf(e.w, "%s = %d\n", lastPart(key), n)
}

func (e *tomlEmitter) setList(key string, v v8config.Value) {
	var list []string
	switch v.Kind {
	case v8config.String:
		list = []string{v.Str}
	case v8config.Array:
		for _, it := range v.Items {
			if it.Value.Kind != v8config.String {
				e.reviewf(it.Value, key, "holds something other than strings")
				return
			}
			list = append(list, tomlString(it.Value.Str))
		}
		fmt.Fprintf(e.w, "%s = [%s]\n", lastPart(key), strings.Join(list, ", "))
		return
	default:
		e.reviewf(v, key, "is not a list of strings")
		return
	}
	fmt.Fprintf(e.w, "%s = [%s]\n", lastPart(key), tomlString(list[0]))
}

func (e *tomlEmitter) database(v v8config.Value) {
	e.table("database", v, map[string]func(string, v8config.Value){
		"type": func(key string, v v8config.Value) {
			if v.Kind != v8config.String || v.Str != "mysql" {
				e.reviewf(v, key, "is not \"mysql\"")
				return
			}
			e.setString(key, v)
		},
		"host": e.setString, "name": e.setString, "username": e.setString,
		"port": e.setInt, "password": e.setSecret,
		"socket": func(key string, v v8config.Value) {
			if v.Kind == v8config.String && v.Str == "" {
				return // the installer writes an empty socket
			}
			e.setString(key, v)
		},
	})
}

func (e *tomlEmitter) storage(v v8config.Value) {
	adapter, _ := v.Get("adapter")
	s3 := adapter.Kind == v8config.String && adapter.Str == "s3"
	path := func(key string, v v8config.Value) {
		s, ok := e.str(key, v)
		if !ok {
			return
		}
		if !s3 && !filepath.IsAbs(s) {
			// v8 resolved these against its API root.
			s = filepath.Join(e.apiRoot, s)
		}
		fmt.Fprintf(e.w, "%s = %s\n", lastPart(key), tomlString(s))
	}
	var options v8config.Value
	e.table("storage", v, map[string]func(string, v8config.Value){
		"adapter": func(key string, v v8config.Value) {
			if v.Kind != v8config.String || v.Str != "local" && v.Str != "s3" {
				e.reviewf(v, key, "is not \"local\" or \"s3\" (the adapters v8assets has)")
				return
			}
			e.setString(key, v)
		},
		"root": path, "thumb_root": path,
		"key": e.setString, "secret": e.setSecret, "region": e.setString, "version": e.setString,
		"bucket": e.setString, "endpoint": e.setString,
		"options": func(_ string, v v8config.Value) { options = v },
	})
	if options.Kind == v8config.Array {
		e.table("storage.options", options, map[string]func(string, v8config.Value){
			"ACL": e.setString, "CacheControl": e.setString,
		})
	}
}

func (e *tomlEmitter) cors(v v8config.Value) {
	e.table("cors", v, map[string]func(string, v8config.Value){
		"enabled": e.setBool, "credentials": e.setBool,
		"origin": e.setList, "methods": e.setList, "headers": e.setList, "exposed_headers": e.setList,
		"max_age": e.setInt,
	})
}

func lastPart(key string) string { return key[strings.LastIndexByte(key, '.')+1:] }

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
