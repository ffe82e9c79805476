package main

import (
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/storage"
)

// Config is the whole of config.toml after defaults, the file and the
// environment have been applied, in that order.
type Config struct {
	Server   ServerConfig              `toml:"server"`
	Projects map[string]*ProjectConfig `toml:"projects"`
}

// ServerConfig is the [server] table.
type ServerConfig struct {
	Listen string `toml:"listen"`
	// MaxGenerations is how many thumbnails are generated at once
	// (0: one per CPU).
	MaxGenerations int `toml:"max_generations"`
	// GenerationQueue is how many more generations may wait before
	// requests get 503 "Server too busy".
	GenerationQueue int `toml:"generation_queue"`
	// GenerationTimeout bounds one generation.
	GenerationTimeout Duration `toml:"generation_timeout"`
	// MetricsListen is the address of the Prometheus listener; empty: off.
	MetricsListen string `toml:"metrics_listen"`
	// LogFormat is "json" or "text".
	LogFormat string `toml:"log_format"`
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string `toml:"log_level"`
	// ShutdownTimeout bounds the wait for in-flight requests on SIGTERM.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// MaintenanceFile puts the server in v8's maintenance mode while it
	// exists.
	MaintenanceFile string `toml:"maintenance_file"`
	// MinFreeSpace makes /readyz fail while a local thumb root has less
	// free space; "0" disables the check.
	MinFreeSpace Size `toml:"min_free_space"`
	// AdminAuthFailures is how many failed admin authentications one client
	// may make per minute before it gets 429.
	AdminAuthFailures int `toml:"admin_auth_failures"`
	// MaxGenerationMemory bounds the summed memory estimates of the
	// generations running at once.
	MaxGenerationMemory Size `toml:"max_generation_memory"`
	// IsolateGenerations decodes and encodes in worker processes, each
	// under a hard memory ceiling and killed at generation_timeout.
	IsolateGenerations bool `toml:"isolate_generations"`
	// TrustedProxies are CIDR ranges of proxies whose X-Forwarded-For
	// names the client.
	TrustedProxies []string `toml:"trusted_proxies"`
}

// Prefixes returns TrustedProxies parsed; a bare address is a /32 or /128.
func (s ServerConfig) Prefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(s.TrustedProxies))
	for _, v := range s.TrustedProxies {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("not a CIDR range or address: %q", v)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Level returns the slog level LogLevel names.
func (s ServerConfig) Level() (slog.Level, error) {
	var l slog.Level
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
		return l, l.UnmarshalText([]byte(s.LogLevel))
	}
	return l, fmt.Errorf("unknown log level %q", s.LogLevel)
}

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration struct{ time.Duration }

// UnmarshalText parses a duration such as "30s" or "1m30s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like \"30s\"): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText prints the duration as Go does ("30s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Size is a byte count written as an integer with an optional unit: "0",
// "512", "256MiB", "2GiB", "100MB".
type Size struct{ Bytes int64 }

var sizeUnits = map[string]int64{
	"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

var sizePattern = regexp.MustCompile(`^\s*([0-9]+)\s*([A-Za-z]*)\s*$`)

// UnmarshalText parses a size such as "256MiB".
func (s *Size) UnmarshalText(b []byte) error {
	m := sizePattern.FindStringSubmatch(string(b))
	if m == nil {
		return fmt.Errorf("not a size (like \"256MiB\"): %q", b)
	}
	unit, ok := sizeUnits[m[2]]
	n, err := strconv.ParseInt(m[1], 10, 64)
	if !ok || err != nil || n > math.MaxInt64/unit {
		return fmt.Errorf("not a size (like \"256MiB\"): %q", b)
	}
	s.Bytes = n * unit
	return nil
}

// MarshalText prints the size in the largest binary unit that divides it.
func (s Size) MarshalText() ([]byte, error) {
	for _, u := range []string{"TiB", "GiB", "MiB", "KiB"} {
		if s.Bytes != 0 && s.Bytes%sizeUnits[u] == 0 {
			return []byte(strconv.FormatInt(s.Bytes/sizeUnits[u], 10) + u), nil
		}
	}
	return []byte(strconv.FormatInt(s.Bytes, 10)), nil
}

// ProjectConfig is one [projects.<name>] table. Its keys mirror v8's PHP
// project config so operators can copy values across.
type ProjectConfig struct {
	Database DatabaseConfig `toml:"database"`
	Storage  StorageConfig  `toml:"storage"`
	CORS     CORSConfig     `toml:"cors"`
	// CacheTTL is the max-age sent when the database has no
	// thumbnail_cache_ttl row (spec Q16); 0 sends none.
	CacheTTL int `toml:"cache_ttl"`
	// RequireWhitelist refuses sizes outside the whitelists even when the
	// user whitelist is empty or malformed (v8 then allowed any, Q9).
	RequireWhitelist bool `toml:"require_whitelist"`
	// MaxDimension caps a thumbnail's w and h (Q7).
	MaxDimension int `toml:"max_dimension"`
	// MaxSourcePixels refuses originals with more pixels, before decoding.
	MaxSourcePixels int64 `toml:"max_source_pixels"`
	// MaxSourceBytes refuses larger originals before reading them.
	MaxSourceBytes Size `toml:"max_source_bytes"`
	// AutoOrient applies EXIF orientation before resizing (Q24).
	AutoOrient bool `toml:"auto_orient"`
	// Rendering is "fast" or "v8" (thumbnails like the ones v8 wrote, Q41).
	Rendering string `toml:"rendering"`
	// AutoFormat lists the formats ("avif", "webp") a thumbnail without an
	// explicit format is converted to, in order of preference, when the
	// request's Accept header names one; empty: v8's output (the default).
	AutoFormat []string `toml:"auto_format"`
	// ChangeProbe is how often the database is asked whether lookups
	// changed; "0" turns the lookup cache off (v8: two queries a request).
	ChangeProbe Duration `toml:"change_probe"`
	// StaleIfError is how long cached lookups keep answering while the
	// database is unreachable; "0": not at all.
	StaleIfError Duration `toml:"stale_if_error"`
	// LookupCacheEntries bounds the cached file lookups.
	LookupCacheEntries int `toml:"lookup_cache_entries"`
}

// DatabaseConfig is [projects.<name>.database].
type DatabaseConfig struct {
	Type     string `toml:"type"`
	Host     string `toml:"host"`
	Port     int    `toml:"port"`
	Name     string `toml:"name"`
	Username string `toml:"username"`
	Password string `toml:"password"`
	Socket   string `toml:"socket"`
	Path     string `toml:"path"`
	Seed     string `toml:"seed"`
	// QueryTimeout bounds every query; past it a request answers 503.
	QueryTimeout Duration `toml:"query_timeout"`
}

// StorageConfig is [projects.<name>.storage], v8's storage block.
type StorageConfig struct {
	// Adapter is "local" or "s3".
	Adapter string `toml:"adapter"`
	// Root and ThumbRoot are directories (local) or key prefixes (s3).
	Root      string `toml:"root"`
	ThumbRoot string `toml:"thumb_root"`
	// The s3 keys, named as in v8.
	Key      string         `toml:"key"`
	Secret   string         `toml:"secret"`
	Region   string         `toml:"region"`
	Version  string         `toml:"version"`
	Bucket   string         `toml:"bucket"`
	Endpoint string         `toml:"endpoint"`
	Options  StorageOptions `toml:"options"`
}

// StorageOptions is v8's storage.options, applied to every S3 write.
type StorageOptions struct {
	ACL          string `toml:"ACL"`
	CacheControl string `toml:"CacheControl"`
}

// CORSConfig is [projects.<name>.cors], v8's cors block.
type CORSConfig struct {
	Enabled        bool     `toml:"enabled"`
	Origin         []string `toml:"origin"`
	Methods        []string `toml:"methods"`
	Headers        []string `toml:"headers"`
	ExposedHeaders []string `toml:"exposed_headers"`
	MaxAge         int      `toml:"max_age"`
	Credentials    bool     `toml:"credentials"`
}

// DefaultConfig returns the configuration used for keys the file leaves out.
func DefaultConfig() *Config {
	return &Config{
		Server: ServerConfig{
			Listen: "127.0.0.1:8080", GenerationQueue: 256,
			GenerationTimeout: Duration{30 * time.Second},
			LogFormat:         "json", LogLevel: "info",
			ShutdownTimeout: Duration{30 * time.Second},
			MinFreeSpace:    Size{256 << 20}, AdminAuthFailures: 10, TrustedProxies: []string{},
			MaxGenerationMemory: Size{512 << 20},
			// The C decoders are what a hostile file can drive past every
			// estimate; the pure-Go build has only Go's, bounded by the
			// runtime, and keeps its single process.
			IsolateGenerations: generator.Native,
		},
		Projects: map[string]*ProjectConfig{},
	}
}

// DefaultProject returns the defaults of a project named name: a MySQL
// database on localhost and v8's installer storage layout.
func DefaultProject(name string) *ProjectConfig {
	return &ProjectConfig{
		Database: DatabaseConfig{Type: "mysql", Host: "127.0.0.1", Port: 3306, Username: "root", QueryTimeout: Duration{2 * time.Second}},
		Storage: StorageConfig{
			Adapter:   "local",
			Root:      filepath.Join("uploads", name, "originals"),
			ThumbRoot: filepath.Join("uploads", name, "generated"),
		},
		CORS: CORSConfig{
			Enabled: true,
			Origin:  []string{"*"},
			Methods: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"},
			Headers: []string{}, ExposedHeaders: []string{},
		},
		MaxDimension:       6000,
		MaxSourcePixels:    50_000_000,
		MaxSourceBytes:     Size{200 << 20},
		AutoOrient:         true,
		Rendering:          "fast",
		AutoFormat:         []string{},
		ChangeProbe:        Duration{250 * time.Millisecond},
		StaleIfError:       Duration{time.Minute},
		LookupCacheEntries: 100_000,
	}
}

// Problem is one thing wrong with a configuration, named by its key.
type Problem struct {
	Key    string
	Reason string
}

// ConfigError lists every problem found in a configuration file.
type ConfigError struct {
	File     string
	Problems []Problem
}

// Error returns one line per problem, each naming the file and the key.
func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = fmt.Sprintf("%s: %s: %s", e.File, p.Key, p.Reason)
	}
	return strings.Join(lines, "\n")
}

const envPrefix = "V8ASSETS"

var projectName = regexp.MustCompile(`^[0-9A-Za-z_-]+$`)

// LoadConfig reads the TOML file at path over the defaults, applies
// V8ASSETS_* environment overrides, resolves relative paths against the
// file's directory and validates the result. All problems are returned at
// once as a *ConfigError.
func LoadConfig(path string) (*Config, error) {
	cerr := &ConfigError{File: path}
	var raw struct {
		Server   ServerConfig              `toml:"server"`
		Projects map[string]toml.Primitive `toml:"projects"`
	}
	raw.Server = DefaultConfig().Server
	var doc map[string]any
	if _, err := toml.DecodeFile(path, &doc); err == nil {
		// Decoding into the structs stops at the first value of the wrong
		// type; check every value first, so each problem is named under
		// its own key.
		problems := typeCheck(reflect.TypeFor[Config](), doc, nil)
		if slices.ContainsFunc(problems, func(p Problem) bool { return p.Reason != unknownKey }) {
			cerr.Problems = problems
			return nil, cerr
		}
	}
	md, err := toml.DecodeFile(path, &raw)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) && perr.LastKey != "" {
			cerr.Problems = append(cerr.Problems, Problem{perr.LastKey, fmt.Sprintf("line %d: %s", perr.Position.Line, perr.Message)})
		} else if errors.As(err, &perr) {
			cerr.Problems = append(cerr.Problems, Problem{"(syntax)", perr.Error()})
		} else {
			cerr.Problems = append(cerr.Problems, Problem{"(file)", err.Error()})
		}
		return nil, cerr
	}
	cfg := &Config{Server: raw.Server, Projects: make(map[string]*ProjectConfig, len(raw.Projects))}
	for name, prim := range raw.Projects {
		p := DefaultProject(name)
		if err := md.PrimitiveDecode(prim, p); err != nil {
			cerr.Problems = append(cerr.Problems, Problem{"projects." + name, err.Error()})
		}
		cfg.Projects[name] = p
	}
	for _, key := range md.Undecoded() {
		cerr.Problems = append(cerr.Problems, Problem{key.String(), unknownKey})
	}
	cerr.Problems = append(cerr.Problems, cfg.applyEnv()...)
	cfg.resolvePaths(filepath.Dir(path))
	cerr.Problems = append(cerr.Problems, cfg.Validate()...)
	if len(cerr.Problems) > 0 {
		return nil, cerr
	}
	return cfg, nil
}

// typeCheck returns a problem for every value in doc (a decoded TOML table)
// that the struct type t cannot take, and for every key it does not have,
// each named by its full key. The projects table maps any project name to
// a ProjectConfig.
func typeCheck(t reflect.Type, doc map[string]any, path []string) []Problem {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("toml"); tag != "" && tag != "-" {
			fields[tag] = t.Field(i).Type
		}
	}
	var problems []Problem
	for _, key := range slices.Sorted(maps.Keys(doc)) {
		value, keyPath := doc[key], append(slices.Clip(path), key)
		ft, ok := fields[key]
		switch {
		case !ok:
			problems = append(problems, unknownKeys(value, keyPath)...)
		case ft.Kind() == reflect.Map:
			projects, ok := value.(map[string]any)
			if !ok {
				problems = append(problems, Problem{strings.Join(keyPath, "."), "must be a table of projects"})
				continue
			}
			for _, name := range slices.Sorted(maps.Keys(projects)) {
				if p, ok := projects[name].(map[string]any); ok {
					problems = append(problems, typeCheck(ft.Elem().Elem(), p, append(slices.Clip(keyPath), name))...)
				} else {
					problems = append(problems, Problem{strings.Join(keyPath, ".") + "." + name, "must be a table"})
				}
			}
		case ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(textUnmarshaler):
			if table, ok := value.(map[string]any); ok {
				problems = append(problems, typeCheck(ft, table, keyPath)...)
			} else {
				problems = append(problems, Problem{strings.Join(keyPath, "."), "must be a table"})
			}
		default:
			if err := checkValue(ft, value); err != nil {
				problems = append(problems, Problem{strings.Join(keyPath, "."), err.Error()})
			}
		}
	}
	return problems
}

// unknownKey is the reason given for a key no config struct has.
const unknownKey = "unknown key"

// unknownKeys names every leaf key of a value under an unknown key, as the
// decoder's Undecoded would.
func unknownKeys(value any, path []string) []Problem {
	table, ok := value.(map[string]any)
	if !ok || len(table) == 0 {
		return []Problem{{strings.Join(path, "."), unknownKey}}
	}
	var problems []Problem
	for _, key := range slices.Sorted(maps.Keys(table)) {
		problems = append(problems, unknownKeys(table[key], append(slices.Clip(path), key))...)
	}
	return problems
}

// checkValue returns why a decoded TOML value cannot be stored in a field
// of type t, or nil.
func checkValue(t reflect.Type, value any) error {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		s, ok := value.(string)
		if !ok {
			return fmt.Errorf("must be a string, not %s", tomlKind(value))
		}
		return reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	var ok bool
	want := ""
	switch t.Kind() {
	case reflect.String:
		_, ok = value.(string)
		want = "a string"
	case reflect.Int, reflect.Int64:
		_, ok = value.(int64)
		want = "an integer"
	case reflect.Bool:
		_, ok = value.(bool)
		want = "true or false"
	case reflect.Slice:
		list, isList := value.([]any)
		ok = isList
		for _, v := range list {
			if _, isString := v.(string); !isString {
				ok = false
			}
		}
		want = "a list of strings"
	default:
		return nil
	}
	if !ok {
		return fmt.Errorf("must be %s, not %s", want, tomlKind(value))
	}
	return nil
}

// tomlKind names the TOML type of a decoded value.
func tomlKind(value any) string {
	switch v := value.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", value)
}

// EnvName returns the environment variable that overrides a config key given
// as its path, e.g. ["projects","thumper","database","password"] →
// V8ASSETS_PROJECTS_THUMPER_DATABASE_PASSWORD ('-' becomes '_').
func EnvName(path ...string) string {
	return strings.ToUpper(strings.ReplaceAll(envPrefix+"_"+strings.Join(path, "_"), "-", "_"))
}

// applyEnv overrides every key that has a V8ASSETS_* variable set. Projects
// must be named in the file; the environment only changes their keys.
func (c *Config) applyEnv() []Problem {
	var problems []Problem
	problems = append(problems, envStruct(reflect.ValueOf(&c.Server).Elem(), []string{"server"})...)
	for name, p := range c.Projects {
		problems = append(problems, envStruct(reflect.ValueOf(p).Elem(), []string{"projects", name})...)
	}
	return problems
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func envStruct(v reflect.Value, path []string) []Problem {
	var problems []Problem
	for i := 0; i < v.NumField(); i++ {
		tag := v.Type().Field(i).Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		field := v.Field(i)
		keyPath := append(append([]string{}, path...), tag)
		if field.Kind() == reflect.Struct && !field.Addr().Type().Implements(textUnmarshaler) {
			problems = append(problems, envStruct(field, keyPath)...)
			continue
		}
		name := EnvName(keyPath...)
		value, ok := os.LookupEnv(name)
		if !ok {
			continue
		}
		if err := setFromString(field, value); err != nil {
			problems = append(problems, Problem{strings.Join(keyPath, "."), fmt.Sprintf("environment %s: %v", name, err)})
		}
	}
	return problems
}

// setFromString sets a config field from an environment value. Lists are
// comma-separated, or a TOML array such as ["a","b"].
func setFromString(field reflect.Value, value string) error {
	if u, ok := field.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(value))
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(value)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", value)
		}
		field.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("not a boolean: %q", value)
		}
		field.SetBool(b)
	case reflect.Slice:
		list, err := parseList(value)
		if err != nil {
			return err
		}
		field.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

func parseList(value string) ([]string, error) {
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "[") {
		var doc struct{ V []string }
		if _, err := toml.Decode("V = "+value, &doc); err != nil {
			return nil, fmt.Errorf("not a list of strings: %q", value)
		}
		return doc.V, nil
	}
	list := []string{}
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return list, nil
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Server.MaintenanceFile)
	for _, p := range c.Projects {
		abs(&p.Database.Path)
		abs(&p.Database.Seed)
		if p.Storage.Adapter == "local" {
			abs(&p.Storage.Root)
			abs(&p.Storage.ThumbRoot)
		}
	}
}

// Validate returns every problem of an already-loaded configuration.
func (c *Config) Validate() []Problem {
	var problems []Problem
	add := func(key, format string, args ...any) {
		problems = append(problems, Problem{key, fmt.Sprintf(format, args...)})
	}
	checkAddr := func(key, addr string) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			add(key, "must be host:port (like \"127.0.0.1:8080\" or \":8080\"), got %q", addr)
			return
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add(key, "port must be a number from 0 to 65535, got %q", port)
		}
	}
	if c.Server.Listen == "" {
		add("server.listen", "required")
	} else {
		checkAddr("server.listen", c.Server.Listen)
	}
	if c.Server.MetricsListen != "" {
		checkAddr("server.metrics_listen", c.Server.MetricsListen)
	}
	if c.Server.MaxGenerations < 0 {
		add("server.max_generations", "must not be negative")
	}
	if c.Server.GenerationQueue < 0 {
		add("server.generation_queue", "must not be negative")
	}
	if c.Server.GenerationTimeout.Duration <= 0 {
		add("server.generation_timeout", "must be positive")
	}
	if c.Server.ShutdownTimeout.Duration <= 0 {
		add("server.shutdown_timeout", "must be positive")
	}
	if c.Server.LogFormat != "json" && c.Server.LogFormat != "text" {
		add("server.log_format", `must be "json" or "text", got %q`, c.Server.LogFormat)
	}
	if _, err := c.Server.Level(); err != nil {
		add("server.log_level", `must be "debug", "info", "warn" or "error", got %q`, c.Server.LogLevel)
	}
	if c.Server.MaxGenerationMemory.Bytes < 16<<20 {
		add("server.max_generation_memory", "must be at least 16MiB")
	}
	if c.Server.AdminAuthFailures < 1 {
		add("server.admin_auth_failures", "must be at least 1")
	}
	if _, err := c.Server.Prefixes(); err != nil {
		add("server.trusted_proxies", "%v", err)
	}
	if c.Server.MetricsListen != "" && c.Server.MetricsListen == c.Server.Listen {
		add("server.metrics_listen", "must differ from server.listen")
	}
	if len(c.Projects) == 0 {
		add("projects", "at least one [projects.<name>] table is required")
	}
	for _, name := range c.ProjectNames() {
		p := c.Projects[name]
		key := "projects." + name
		if !projectName.MatchString(name) {
			add(key, "project name must use only 0-9, A-Z, a-z, '_' and '-'")
		}
		if name == "server" {
			add(key, `"server" is reserved by v8 (/server/ping) and cannot name a project`)
		}
		db := p.Database
		switch db.Type {
		case "mysql":
			if db.Name == "" {
				add(key+".database.name", "required for a mysql database")
			}
			if db.Socket == "" && (db.Port < 1 || db.Port > 65535) {
				add(key+".database.port", "must be between 1 and 65535, got %d", db.Port)
			}
			if db.Socket == "" && db.Host == "" {
				add(key+".database.host", "required unless database.socket is set")
			}
		case "sqlite":
			if db.Path == "" {
				add(key+".database.path", "required for a sqlite database")
			}
		default:
			add(key+".database.type", `must be "mysql" or "sqlite", got %q`, db.Type)
		}
		if db.Seed != "" {
			if db.Type != "sqlite" {
				add(key+".database.seed", "only applies to a sqlite database")
			} else if _, err := os.ReadFile(db.Seed); err != nil {
				add(key+".database.seed", "unreadable: %v", err)
			}
		}
		switch st := p.Storage; st.Adapter {
		case "local":
			if st.Root == "" {
				add(key+".storage.root", "required")
			} else if _, err := storage.NewLocal(st.Root); err != nil {
				add(key+".storage.root", "unreadable: %v", err)
			}
			if st.ThumbRoot == "" {
				add(key+".storage.thumb_root", "required")
			}
		case "s3":
			if st.Bucket == "" {
				add(key+".storage.bucket", "required for the s3 adapter")
			}
			if st.Key != "" && st.Secret == "" {
				add(key+".storage.secret", "required when storage.key is set")
			}
		default:
			add(key+".storage.adapter", `must be "local" or "s3", got %q`, st.Adapter)
		}
		if p.CORS.MaxAge < 0 {
			add(key+".cors.max_age", "must not be negative")
		}
		if p.CacheTTL < 0 {
			add(key+".cache_ttl", "must not be negative")
		}
		if p.MaxDimension < 1 {
			add(key+".max_dimension", "must be at least 1")
		}
		if p.MaxSourcePixels < 1 {
			add(key+".max_source_pixels", "must be at least 1")
		}
		if p.Rendering != "fast" && p.Rendering != "v8" {
			add(key+".rendering", `must be "fast" or "v8", got %q`, p.Rendering)
		}
		for i, f := range p.AutoFormat {
			switch {
			case f != "avif" && f != "webp":
				add(key+".auto_format", `may list only "avif" and "webp", got %q`, f)
			case slices.Contains(p.AutoFormat[:i], f):
				add(key+".auto_format", "lists %q twice", f)
			}
		}
		if p.MaxSourceBytes.Bytes < 1 {
			add(key+".max_source_bytes", "must be at least 1")
		}
		if p.ChangeProbe.Duration < 0 {
			add(key+".change_probe", "must not be negative")
		}
		if p.StaleIfError.Duration < 0 {
			add(key+".stale_if_error", "must not be negative")
		}
		if p.LookupCacheEntries < 1 {
			add(key+".lookup_cache_entries", "must be at least 1")
		}
		if p.Database.QueryTimeout.Duration <= 0 {
			add(key+".database.query_timeout", "must be positive")
		}
	}
	return problems
}

// ProjectNames returns the configured project names in sorted order.
func (c *Config) ProjectNames() []string {
	names := make([]string, 0, len(c.Projects))
	for name := range c.Projects {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Masked returns a copy of c with every password replaced by "********", for
// printing.
func (c *Config) Masked() *Config {
	out := &Config{Server: c.Server, Projects: make(map[string]*ProjectConfig, len(c.Projects))}
	for name, p := range c.Projects {
		cp := *p
		if cp.Database.Password != "" {
			cp.Database.Password = "********"
		}
		if cp.Storage.Secret != "" {
			cp.Storage.Secret = "********"
		}
		out.Projects[name] = &cp
	}
	return out
}
