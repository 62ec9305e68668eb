package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Error is one configuration error. Every error returned by Load, Parse and
// Validate is an *Error or an errors.Join of several, so that
//
//	var cerr *config.Error
//	errors.As(err, &cerr)
//
// holds for any of them; the command line exits with status 2 on such an
// error.
type Error struct {
	File string // config file, when known
	Line int    // 1-based line in File, when known (syntax errors)
	Key  string // dotted key, such as "listen.imap"; "" for a syntax error
	Msg  string // what is wrong
	Err  error  // underlying error, if any (see Unwrap)
}

// msgUnknownKey is the Msg of an unknown-key Error.
const msgUnknownKey = "unknown key"

// Error formats e as, for instance,
//
//	config: unknown key "listen.imapz"
//	config: listen.imap: "abc" is not host:port
//	config: /etc/gatehouse.toml: line 3: expected '.' or '=', but got 'x' instead
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case e.Key != "" && e.Msg == msgUnknownKey:
		fmt.Fprintf(&b, "%s %q", msgUnknownKey, e.Key)
	case e.Key != "":
		b.WriteString(e.Key)
		b.WriteString(": ")
		b.WriteString(e.Msg)
	default:
		b.WriteString(e.Msg)
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// Load reads the config file at path over the defaults and validates the
// result. With path "" it returns Default(), validated. Any error it returns
// is a configuration error (see Error) naming the file.
func Load(path string) (*Config, error) {
	if path == "" {
		c := Default()
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			msg = pe.Err.Error()
		}
		return nil, &Error{File: path, Msg: msg, Err: err}
	}
	c, err := Parse(data)
	if err != nil {
		forEach(err, func(e *Error) { e.File = path })
		return nil, err
	}
	return c, nil
}

// forEach calls f for every *Error in err (a single one or a join).
func forEach(err error, f func(*Error)) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			forEach(e, f)
		}
		return
	}
	if e, ok := err.(*Error); ok {
		f(e)
	}
}

// Parse decodes a TOML document over the defaults and validates the result.
// It reports every unknown key and every value of the wrong type, not only
// the first.
func Parse(data []byte) (*Config, error) {
	var tree map[string]any
	md, err := toml.Decode(string(data), &tree)
	if err != nil {
		if pe, ok := errors.AsType[toml.ParseError](err); ok {
			line := pe.Position.Line
			if s := pe.Position.Start; s >= 0 && s < len(data) && data[s] == '\n' {
				// The parser counts an unexpected end of line as being on
				// the next line; the admin needs the line it ends.
				line = 1 + bytes.Count(data[:s], []byte("\n"))
			}
			return nil, &Error{Line: line, Msg: pe.Message, Err: err}
		}
		return nil, &Error{Msg: strings.TrimPrefix(err.Error(), "toml: "), Err: err}
	}
	d := decoder{order: make(map[string]int)}
	for i, k := range md.Keys() {
		for n := 1; n <= len(k); n++ {
			p := k[:n].String()
			if _, ok := d.order[p]; !ok {
				d.order[p] = i
			}
		}
	}
	c := Default()
	d.table(nil, tree, reflect.ValueOf(c).Elem())
	if err := c.Validate(); err != nil {
		d.errs = append(d.errs, err)
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return c, nil
}

// decoder assigns a decoded TOML tree to the Config struct tree. It does
// this itself rather than through toml.Decode into the struct because the
// latter matches keys case-insensitively, stops at the first type error,
// visits keys in random order and words its type errors for programmers.
type decoder struct {
	order map[string]int // dotted key -> first position in the file
	errs  []error
}

// table decodes the TOML table m at path into the struct rv, in file order.
func (d *decoder) table(path toml.Key, m map[string]any, rv reflect.Value) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	pos := func(k string) int {
		if i, ok := d.order[append(path[:len(path):len(path)], k).String()]; ok {
			return i
		}
		return math.MaxInt
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := pos(a) - pos(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		key := append(path[:len(path):len(path)], k)
		f, ok := fieldByKey(rv.Type(), k)
		if !ok {
			d.errs = append(d.errs, &Error{Key: key.String(), Msg: msgUnknownKey})
			continue
		}
		d.value(key, m[k], rv.FieldByIndex(f.Index))
	}
}

// fieldByKey finds the field of struct type t whose toml tag is exactly key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && tomlKey(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// tomlKey is the key of struct field f: the name in its toml tag.
func tomlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
)

// value decodes the TOML value v into the field fv.
func (d *decoder) value(key toml.Key, v any, fv reflect.Value) {
	fail := func(format string, args ...any) {
		d.errs = append(d.errs, &Error{Key: key.String(), Msg: fmt.Sprintf(format, args...)})
	}
	if u, ok := fv.Addr().Interface().(toml.Unmarshaler); ok {
		if err := u.UnmarshalTOML(v); err != nil {
			fail("%s", err)
		}
		return
	}
	if u, ok := fv.Addr().Interface().(encoding.TextUnmarshaler); ok {
		s, ok := v.(string)
		if !ok {
			fail("expected %s, got %s", typeName(fv.Type()), describe(v))
			return
		}
		if err := u.UnmarshalText([]byte(s)); err != nil {
			fail("%s", err)
		}
		return
	}
	switch fv.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			fail("expected a table, got %s", describe(v))
			return
		}
		d.table(key, m, fv)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			fail("expected a string, got %s", describe(v))
			return
		}
		fv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			fail("expected a boolean (true or false), got %s", describe(v))
			return
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := v.(int64)
		if !ok {
			fail("expected an integer, got %s", describe(v))
			return
		}
		if fv.OverflowInt(n) {
			fail("%d is out of range", n)
			return
		}
		fv.SetInt(n)
	default:
		// Only reachable if a field of a new kind is added to Config without
		// teaching the decoder about it; TestEveryFieldDecodes catches that.
		fail("cannot decode into %s", fv.Type())
	}
}

// typeName is how error messages name the type of a config value of Go
// type t.
func typeName(t reflect.Type) string {
	switch t {
	case durationType:
		return `a duration (a string such as "30s")`
	case sizeType:
		return "a size (an integer number of bytes or a string such as \"50MiB\")"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Struct:
		return "a table"
	}
	return t.String()
}

// describe names the TOML type of a decoded value, with the value itself when
// it is short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			return "a string"
		}
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case time.Time:
		return "date-time " + v.Format(time.RFC3339)
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
