package safejson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Check refuses what encoding/json would read without a word: an object
// with one key twice, or in two cases ("SecretString" and "SECRETSTRING":
// the last would win). It returns what is wrong, or "" for JSON it may
// read. The caller checks that body is UTF-8 first: encoding/json would
// read what is not as U+FFFD.
func Check(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	var keys keyWalker
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			return Describe(err)
		}
		if keys.step(tok) {
			return "an object in the answer holds one key twice, perhaps in two cases"
		}
	}
}

// Strict is Check for a whole answer read with no field of its own
// checked after: it also refuses bytes that are not UTF-8 and an escaped
// lone UTF-16 surrogate anywhere in body, each of which encoding/json
// would read as U+FFFD. It returns what is wrong, or "".
func Strict(body []byte) string {
	if !utf8.Valid(body) {
		return "the answer is not valid UTF-8"
	}
	if p := Check(body); p != "" {
		return p
	}
	if loneSurrogate(body) {
		return "the answer holds an escaped lone UTF-16 surrogate, which is not text"
	}
	return ""
}

// keyWalker follows a stream of JSON tokens and tells the keys of each
// object from its values.
type keyWalker struct {
	stack []*jsonLevel
}

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

// Text reads raw, the JSON of a string value, exactly: nil for null or
// none. A value encoding/json would change is refused, with what is wrong:
// it decodes an escaped lone UTF-16 surrogate (\ud800) as U+FFFD without a
// word.
func Text(raw json.RawMessage) (*string, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, Describe(err)
	}
	if loneSurrogate(raw) {
		return nil, "the value holds an escaped lone UTF-16 surrogate, which is not text"
	}
	return &v, ""
}

// loneSurrogate reports whether raw, a valid JSON string, escapes one half
// of a UTF-16 surrogate pair without the other.
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

// Describe describes a decoding error without quoting the input: the
// standard library's syntax errors quote the offending character.
func Describe(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "JSON of the wrong shape"
}

// Code returns the AWS error code of an agent-style JSON body, such as
// {"__type":"ResourceNotFoundException","message":"..."}, as CleanCode
// keeps it, or "".
func Code(body []byte, sent ...string) string {
	var aws struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(body, &aws) != nil {
		return ""
	}
	return CleanCode(aws.Type, sent...)
}

// CleanCode returns an AWS error code as an answer gave it (in __type or
// X-Amzn-Errortype), without the namespace of the JSON protocols
// ("com.amazonaws.ssm#ParameterNotFound") or the suffix some services add
// ("UnrecognizedClientException:http://..."), if it has the shape of AWS's
// codes: a capital letter, then letters and digits, 64 at most. It returns
// "" for anything else, and for a code that repeats 8 bytes in a row of
// any of sent, the secrets the request carried (its tokens), or the whole
// of a shorter one: an answer cannot forge a log line through a code, nor
// echo a token into an error.
func CleanCode(code string, sent ...string) string {
	code = strings.TrimSpace(code[strings.LastIndexByte(code, '#')+1:])
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if !codeShaped(code) || echoes(code, sent) {
		return ""
	}
	return code
}

// codeShaped reports whether code has the shape of AWS's error codes.
func codeShaped(code string) bool {
	if len(code) == 0 || len(code) > 64 || code[0] < 'A' || code[0] > 'Z' {
		return false
	}
	return strings.IndexFunc(code, func(c rune) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
	}) < 0
}

// echoes reports whether code repeats echoed bytes in a row of any of
// secrets, or the whole of a shorter one.
func echoes(code string, secrets []string) bool {
	for _, secret := range secrets {
		w := min(echoed, len(secret))
		for i := 0; w > 0 && i+w <= len(code); i++ {
			if strings.Contains(secret, code[i:i+w]) {
				return true
			}
		}
	}
	return false
}

// echoed is how many bytes in a row of a secret the request carried make a
// code an echo of it.
const echoed = 8
