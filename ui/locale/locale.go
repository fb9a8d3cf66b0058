// Package locale holds every word Tandem shows a person, one catalog per
// language, and picks the language for a request.
//
// A catalog (catalogs/<BCP 47 tag>.toml) holds Tandem's own text, from the
// pages, the server and tandem.js alike, and a wording for every UI
// message id Kratos v1.3.1 can send (under "kratos.<id>", filled from the
// message's context). Catalogs are parsed once, at start, with go-i18n;
// the language is negotiated with golang.org/x/text/language. Strings
// without template actions are resolved into a plain map per locale at
// start, so that a page render looks them up rather than executing a
// template per word.
//
// Adding a locale is its catalog file plus one line in Shipped. A team
// overrides single strings with a directory of <tag>.toml files holding
// only the keys it changes (ui.locales_dir).
package locale

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"
	"golang.org/x/text/language"
)

//go:embed catalogs/*.toml
var catalogs embed.FS

// Shipped lists the locales Tandem ships, in the order a language menu
// shows them. The first is the default, and the fallback for any key a
// catalog lacks.
var Shipped = []string{"en", "de", "fr", "es", "pt-BR", "ja", "ar"}

// Meta keys every catalog holds about itself.
const (
	keyName      = "meta.name"      // the language's own name ("Deutsch")
	keyDirection = "meta.direction" // "ltr" or "rtl"
)

// Catalog is every shipped locale, parsed and ready. It is safe for
// concurrent use.
type Catalog struct {
	locales []*Locale
	byTag   map[string]*Locale // lower-case tag → locale
	matcher language.Matcher
	// accepted remembers what each Accept-Language header negotiated to:
	// browsers send a handful of distinct values.
	accepted sync.Map // string → *Locale
	nAccept  int64
	acceptMu sync.Mutex
}

// Load parses the embedded catalogs, then the overrides (nil for none):
// files named <tag>.toml whose keys replace the shipped wording. An
// override of a key no catalog has, or for a locale Tandem does not ship,
// is an error naming the file and key: it is almost always a typo.
func Load(overrides fs.FS) (*Catalog, error) {
	unmarshal := map[string]i18n.UnmarshalFunc{"toml": toml.Unmarshal}
	c := &Catalog{byTag: map[string]*Locale{}}
	var tags []language.Tag
	for _, name := range Shipped {
		tag, err := language.Parse(name)
		if err != nil {
			return nil, fmt.Errorf("locale %q: %w", name, err)
		}
		file := "catalogs/" + name + ".toml"
		buf, err := catalogs.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("locale %s: %w", name, err)
		}
		mf, err := i18n.ParseMessageFileBytes(buf, file, unmarshal)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		l := &Locale{tag: tag, name: name, messages: map[string]*i18n.Message{}}
		for _, m := range mf.Messages {
			l.messages[m.ID] = m
		}
		c.locales = append(c.locales, l)
		c.byTag[strings.ToLower(name)] = l
		tags = append(tags, tag)
	}
	if overrides != nil {
		if err := c.override(overrides, unmarshal); err != nil {
			return nil, err
		}
	}
	fallback := c.locales[0]
	for _, l := range c.locales {
		if err := l.prepare(fallback); err != nil {
			return nil, err
		}
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

func (c *Catalog) override(fsys fs.FS, unmarshal map[string]i18n.UnmarshalFunc) error {
	files, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return err
	}
	for _, file := range files {
		name := strings.TrimSuffix(path.Base(file), ".toml")
		l, ok := c.byTag[strings.ToLower(name)]
		if !ok {
			return fmt.Errorf("ui.locales_dir: %s: Tandem ships no locale %q (it ships %s)", file, name, strings.Join(Shipped, ", "))
		}
		buf, err := fs.ReadFile(fsys, file)
		if err != nil {
			return fmt.Errorf("ui.locales_dir: %w", err)
		}
		mf, err := i18n.ParseMessageFileBytes(buf, l.name+".toml", unmarshal)
		if err != nil {
			return fmt.Errorf("ui.locales_dir: parse %s: %w", file, err)
		}
		for _, m := range mf.Messages {
			if _, ok := c.locales[0].messages[m.ID]; !ok {
				return fmt.Errorf("ui.locales_dir: %s: no such key %q", file, m.ID)
			}
			l.messages[m.ID] = m
		}
	}
	return nil
}

// Locales returns the shipped locales, the default first.
func (c *Catalog) Locales() []*Locale { return slices.Clone(c.locales) }

// Default is the default locale (English).
func (c *Catalog) Default() *Locale { return c.locales[0] }

// Lookup returns the shipped locale tag names exactly (case-insensitive),
// as ?lang= and the language cookie must.
func (c *Catalog) Lookup(tag string) (*Locale, bool) {
	l, ok := c.byTag[strings.ToLower(tag)]
	return l, ok
}

// maxAcceptLanguage bounds the Accept-Language header Tandem parses: the
// real ones are a few dozen bytes, and a parser is no place for a
// megabyte of q-values.
const maxAcceptLanguage = 256

// maxAccepted bounds the negotiation cache; past it, it starts over.
const maxAccepted = 1024

// Negotiate picks the locale for a request: the ?lang= value if Tandem
// ships it, else the language cookie's, else the best match for the
// Accept-Language header, else the default. Nothing a browser sends makes
// it fail.
func (c *Catalog) Negotiate(query, cookie, acceptLanguage string) *Locale {
	if l, ok := c.Lookup(query); ok && query != "" {
		return l
	}
	if l, ok := c.Lookup(cookie); ok && cookie != "" {
		return l
	}
	if acceptLanguage == "" {
		return c.locales[0]
	}
	if v, ok := c.accepted.Load(acceptLanguage); ok {
		return v.(*Locale)
	}
	l := c.match(acceptLanguage)
	c.acceptMu.Lock()
	if c.nAccept >= maxAccepted {
		c.accepted.Clear()
		c.nAccept = 0
	}
	c.nAccept++
	c.acceptMu.Unlock()
	c.accepted.Store(acceptLanguage, l)
	return l
}

func (c *Catalog) match(header string) *Locale {
	if len(header) > maxAcceptLanguage {
		// Keep whole entries: cut at the last comma inside the bound.
		header = header[:maxAcceptLanguage]
		if i := strings.LastIndexByte(header, ','); i > 0 {
			header = header[:i]
		}
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return c.locales[0]
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return c.locales[0]
	}
	return c.locales[i]
}

// Locale is one language's catalog.
type Locale struct {
	tag      language.Tag
	name     string // as in Shipped
	messages map[string]*i18n.Message
	// Prepared by prepare:
	known      map[string]bool   // every key, this catalog's or the default's
	plain      map[string]string // keys whose text has no template action
	loc        *i18n.Localizer   // for templated and plural keys
	self       string            // meta.name
	dir        string            // ltr or rtl
	script     map[string]string // js.* for tandem.js
	scriptJSON []byte
	// Indexes of plain entries the page render looks up per node, so that
	// it does not build a key string for each: kratos.<id>, field.<name>
	// and button.<name>.<kind>[_<variant>].
	kratos  map[int64]string
	fields  map[string]string
	buttons map[[3]string]string
	months  [13]string // month.1 … month.12
	funcs   template.FuncMap
}

// prepare resolves every plain string (falling back to fallback's for a
// missing key) and builds the go-i18n localizer for the rest.
func (l *Locale) prepare(fallback *Locale) (err error) {
	b := i18n.NewBundle(l.tag)
	l.plain = map[string]string{}
	l.known = map[string]bool{}
	for id, fm := range fallback.messages {
		l.known[id] = true
		m, ok := l.messages[id]
		if !ok {
			m = fm
		}
		mm := *m
		mm.ID = id
		if err := b.AddMessages(l.tag, &mm); err != nil {
			return fmt.Errorf("locale %s: %s: %w", l.name, id, err)
		}
		if plural(m) == 0 && !strings.Contains(m.Other, "{{") {
			l.plain[id] = m.Other
		}
	}
	l.loc = i18n.NewLocalizer(b, l.tag.String())
	l.self = l.plain[keyName]
	switch l.plain[keyDirection] {
	case "ltr", "":
		l.dir = "ltr"
	case "rtl":
		l.dir = "rtl"
	default:
		return fmt.Errorf("locale %s: %s must be ltr or rtl", l.name, keyDirection)
	}
	l.script = map[string]string{}
	l.kratos, l.fields, l.buttons = map[int64]string{}, map[string]string{}, map[[3]string]string{}
	for id, text := range l.plain {
		switch {
		case strings.HasPrefix(id, "js."):
			l.script[id[len("js."):]] = text
		case strings.HasPrefix(id, "kratos."):
			if n, err := strconv.ParseInt(id[len("kratos."):], 10, 64); err == nil {
				l.kratos[n] = text
			}
		case strings.HasPrefix(id, "field."):
			l.fields[id[len("field."):]] = text
		case strings.HasPrefix(id, "button."):
			rest := id[len("button."):]
			i := strings.LastIndexByte(rest, '.')
			if i < 0 {
				continue
			}
			kind, variant, _ := strings.Cut(rest[i+1:], "_")
			l.buttons[[3]string{rest[:i], kind, variant}] = text
		}
	}
	if l.scriptJSON, err = json.Marshal(l.script); err != nil {
		return fmt.Errorf("locale %s: script text: %w", l.name, err)
	}
	for m := 1; m <= 12; m++ {
		l.months[m] = l.plain["month."+strconv.Itoa(m)]
	}
	// Functions a catalog entry may call: Kratos puts lists and RFC 3339
	// times in its messages' context.
	l.funcs = template.FuncMap{
		"join":     func(sep string, v any) string { return join(sep, v) },
		"date":     func(v any) string { return l.formatTime(v, l.Date) },
		"datetime": func(v any) string { return l.formatTime(v, l.DateTime) },
	}
	return nil
}

// plural counts the plural forms a message has besides "other".
func plural(m *i18n.Message) int {
	n := 0
	for _, s := range []string{m.Zero, m.One, m.Two, m.Few, m.Many} {
		if s != "" {
			n++
		}
	}
	return n
}

// Tag is the locale's BCP 47 tag, as <html lang> wants it ("pt-BR").
func (l *Locale) Tag() string { return l.name }

// Name is the language's own name ("Deutsch"), for a language menu.
func (l *Locale) Name() string { return l.self }

// Dir is the writing direction, "ltr" or "rtl", for <html dir>.
func (l *Locale) Dir() string { return l.dir }

// T returns the text for id. A key no catalog has comes back as the key
// itself, which a test makes sure never ships.
func (l *Locale) T(id string) string {
	if s, ok := l.plain[id]; ok {
		return s
	}
	return l.Format(id, nil)
}

// Has reports whether the catalog has id (or the default's does).
func (l *Locale) Has(id string) bool { return l.known[id] }

// Format returns the text for id with data filled into its template.
func (l *Locale) Format(id string, data map[string]any) string {
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, Funcs: l.funcs})
	if err != nil && s == "" {
		return id
	}
	return s
}

// Plural returns the text for id in the plural form n calls for in this
// language, with n as .Count and data's other values filled in.
func (l *Locale) Plural(id string, n int, data map[string]any) string {
	d := map[string]any{"Count": n}
	maps.Copy(d, data)
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, PluralCount: n, TemplateData: d, Funcs: l.funcs})
	if err != nil && s == "" {
		return id
	}
	return s
}

// Kratos words a Kratos UI text (a message or a label) from its id and
// context. An id the catalog does not know (a web hook's own message, a
// newer Kratos) keeps Kratos' text.
func (l *Locale) Kratos(id int64, context json.RawMessage, kratosText string) string {
	if s, ok := l.kratos[id]; ok {
		return s
	}
	key := "kratos." + strconv.FormatInt(id, 10)
	if !l.known[key] {
		return kratosText
	}
	data := map[string]any{}
	if len(context) > 0 {
		d := json.NewDecoder(bytes.NewReader(context))
		d.UseNumber()
		_ = d.Decode(&data)
	}
	// A property is a form field's schema name ("email", "password"):
	// say it the way the form labels it.
	if p, ok := data["property"].(string); ok {
		for _, name := range []string{p, "traits." + p} {
			if label, ok := l.fields[name]; ok {
				data["property"] = label
				break
			}
		}
	}
	// Kratos counts list entries from zero ("items at index 0 and 1 must
	// be unique"); people count from one.
	for _, k := range []string{"index_a", "index_b"} {
		if n, ok := data[k].(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				data[k] = i + 1
			}
		}
	}
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: key, TemplateData: data, Funcs: l.funcs})
	if err != nil || s == "" || strings.Contains(s, "<no value>") {
		// A context that does not fit the wording (a newer Kratos, a
		// hook's own message under a known id): Kratos' text at least
		// says something true.
		return kratosText
	}
	return s
}

// Field is Tandem's label for the form field called name (field.<name>),
// where the catalog has one.
func (l *Locale) Field(name string) (string, bool) {
	s, ok := l.fields[name]
	return s, ok
}

// Button is Tandem's label for the button called name on a page of flow
// kind, in the page's variant if the catalog words it apart
// (button.<name>.<kind>_<variant>), else the kind's (button.<name>.<kind>).
func (l *Locale) Button(name, kind, variant string) (string, bool) {
	if variant != "" {
		if s, ok := l.buttons[[3]string{name, kind, variant}]; ok {
			return s, true
		}
	}
	s, ok := l.buttons[[3]string{name, kind, ""}]
	return s, ok
}

// Date formats a day in this language ("29 November 2026").
func (l *Locale) Date(t time.Time) string {
	return l.Format("format.date", map[string]any{
		"Day": t.Day(), "Month": l.months[t.Month()], "MonthNumber": int(t.Month()), "Year": t.Year(),
	})
}

// DateTime formats a day and a time of day ("29 November 2026, 14:05").
func (l *Locale) DateTime(t time.Time) string {
	return l.Format("format.datetime", map[string]any{
		"Date": l.Date(t), "Hour": t.Hour(), "Minute": fmt.Sprintf("%02d", t.Minute()),
	})
}

// Ago says how long before now t was, in words ("3 days ago"), with the
// plural rules of the language.
func (l *Locale) Ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return l.T("time.just_now")
	case d < time.Hour:
		return l.Plural("time.minutes_ago", int(d/time.Minute), nil)
	case d < 24*time.Hour:
		return l.Plural("time.hours_ago", int(d/time.Hour), nil)
	case d < 60*24*time.Hour:
		return l.Plural("time.days_ago", int(d/(24*time.Hour)), nil)
	}
	return l.Date(t)
}

// Script is the text tandem.js shows (the catalog's js.* keys, without
// the prefix).
func (l *Locale) Script() map[string]string { return maps.Clone(l.script) }

// ScriptJSON is Script as JSON, made once: every page carries it in a
// <script type="application/json"> element, which it cannot close
// (encoding/json escapes < > &).
func (l *Locale) ScriptJSON() []byte { return l.scriptJSON }

// Keys lists the keys this locale's own catalog file holds, sorted.
func (l *Locale) Keys() []string {
	return slices.Sorted(maps.Keys(l.messages))
}

// Message returns the raw catalog entry for id in this locale's own file,
// for tests that compare plural forms and template fields across locales.
func (l *Locale) Message(id string) (*i18n.Message, bool) {
	m, ok := l.messages[id]
	return m, ok
}

// formatTime formats an RFC 3339 time from a Kratos context; anything
// else is shown as it came.
func (l *Locale) formatTime(v any, f func(time.Time) string) string {
	s := fmt.Sprint(v)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return f(t)
}

func join(sep string, v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, sep)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
