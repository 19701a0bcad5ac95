package cloudext

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The checks of a 200 answer before it is read, as mw's own sources check
// theirs: encoding/json reads some JSON without a word in a way a person
// would not, so that an answer may say one thing to a reader and another
// to the Source.

// strictProblem says what in body encoding/json would read without a
// word: bytes that are not UTF-8 (read as U+FFFD), an object with one key
// twice or in two cases ("Name" and "NAME": the last wins), an escaped
// lone UTF-16 surrogate in a string (read as U+FFFD); "" for none. It
// never quotes body.
func strictProblem(body []byte) string {
	if !utf8.Valid(body) {
		return "the answer is not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var keys keyWalker
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return jsonProblem(err)
		}
		if keys.step(tok) {
			return "an object in the answer holds one key twice, perhaps in two cases"
		}
	}
	if loneSurrogate(body) {
		return "the answer holds an escaped lone UTF-16 surrogate, which is not text"
	}
	return ""
}

// keyWalker follows a stream of JSON tokens and tells the keys of each
// object from its values.
type keyWalker struct{ stack []*jsonLevel }

type jsonLevel struct {
	object  bool
	wantKey bool
	keys    map[string]bool
}

// step takes the next token, and reports a key its object already holds.
func (w *keyWalker) step(tok json.Token) (dup bool) {
	d, isDelim := tok.(json.Delim)
	if isDelim && (d == '}' || d == ']') {
		w.stack = w.stack[:len(w.stack)-1]
		w.valueDone()
		return false
	}
	if top := w.top(); top != nil && top.wantKey {
		k := strings.ToLower(strings.ToUpper(tok.(string))) // as encoding/json folds keys
		dup, top.keys[k], top.wantKey = top.keys[k], true, false
		return dup
	}
	if isDelim { // '{' or '[': a value that opens a level
		w.stack = append(w.stack, &jsonLevel{object: d == '{', wantKey: d == '{', keys: map[string]bool{}})
		return false
	}
	w.valueDone()
	return false
}

func (w *keyWalker) top() *jsonLevel {
	if len(w.stack) == 0 {
		return nil
	}
	return w.stack[len(w.stack)-1]
}

// valueDone notes that a value ended: an object wants its next key.
func (w *keyWalker) valueDone() {
	if top := w.top(); top != nil && top.object {
		top.wantKey = true
	}
}

// loneSurrogate reports whether raw, valid JSON, escapes one half of a
// UTF-16 surrogate pair without the other.
func loneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if raw[i] != 'u' {
			continue
		}
		r := codeUnit(raw[i+1 : i+5])
		i += 4
		if !utf16.IsSurrogate(r) {
			continue
		}
		// A high half must be followed at once by an escaped low half.
		if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' ||
			utf16.DecodeRune(r, codeUnit(raw[i+3:i+7])) == utf8.RuneError {
			return true
		}
		i += 6
	}
	return false
}

// codeUnit is the UTF-16 code unit of the four hex digits of a \u escape.
func codeUnit(hex []byte) rune {
	n, _ := strconv.ParseUint(string(hex), 16, 16) // valid JSON: four hex digits
	return rune(n)
}
