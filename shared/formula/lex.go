package formula

import (
	"math"
	"strconv"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEOF tokKind = iota
	tNum
	tName
	tOp // one of + - * / ^ == != > >= < <= & | ! ~
	tLParen
	tRParen
	tComma
)

// token is one token with its byte span in the source.
type token struct {
	kind       tokKind
	text       string
	num        float64
	start, end int
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isNameByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_'
}

// isName reports whether s is a whole name as the lexer reads one: letters, digits and _,
// starting with a letter and not ending with _.
func isName(s string) bool {
	if s == "" || !isLetter(s[0]) || s[len(s)-1] == '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// lex splits src into tokens. Spaces separate tokens (why: django-raster removed every
// space first, so "a b" was the variable "ab").
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, start: len(src), end: len(src)})
			return toks, nil
		}
		c := src[i]
		start := i
		switch {
		case isDigit(c) || c == '.' && i+1 < len(src) && isDigit(src[i+1]):
			t, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = t.end
		case isLetter(c) || c == '_':
			for i < len(src) && isNameByte(src[i]) {
				i++
			}
			name := src[start:i]
			if !isName(name) { // name bytes from a letter or _: only an _ at an end fails
				return nil, errAt(start, i, "the name %q starts or ends with \"_\", which names may not", name)
			}
			toks = append(toks, token{kind: tName, text: name, start: start, end: i})
		case c == '(':
			i++
			toks = append(toks, token{kind: tLParen, text: "(", start: start, end: i})
		case c == ')':
			i++
			toks = append(toks, token{kind: tRParen, text: ")", start: start, end: i})
		case c == ',':
			i++
			toks = append(toks, token{kind: tComma, text: ",", start: start, end: i})
		default:
			t, err := lexOperator(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = t.end
		}
	}
}

// lexNumber reads a number literal at src[i:]: digits with an optional fraction (3, 1.,
// .5) and an optional exponent (2.5e-3, 1E5).
func lexNumber(src string, i int) (token, error) {
	start := i
	for i < len(src) && isDigit(src[i]) {
		i++
	}
	if i < len(src) && src[i] == '.' {
		i++
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isDigit(src[j]) {
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			i = j
		}
	}
	if i < len(src) && (isNameByte(src[i]) || src[i] == '.') {
		end := i
		for end < len(src) && (isNameByte(src[end]) || src[end] == '.') {
			end++
		}
		// The hint fits what runs on: a letter or _ (2x), or only another decimal point
		// (1.2.3, 1..2, 1e3.5), which the name hint ("write 2*x") did not explain.
		hint := "a number has one decimal point at most, before any exponent"
		for _, c := range []byte(src[i:end]) {
			if isLetter(c) || c == '_' {
				hint = "a name cannot start with a digit; write 2*x, not 2x"
				break
			}
		}
		return token{}, errAt(start, end, "malformed number %q (%s)", src[start:end], hint)
	}
	text := src[start:i]
	if len(text) > MaxNumber {
		return token{}, errAt(start, i, "number is %d characters long, at most %d are allowed", len(text), MaxNumber)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) {
		return token{}, errAt(start, i, "number %s is out of range (largest is about 1.8e308; use INF for infinity)", text)
	}
	return token{kind: tNum, text: text, num: v, start: start, end: i}, nil
}

// lexOperator reads an operator at src[i:], with hints for the operators of other
// languages.
func lexOperator(src string, i int) (token, error) {
	c := src[i]
	next := byte(0)
	if i+1 < len(src) {
		next = src[i+1]
	}
	op := func(n int) (token, error) {
		return token{kind: tOp, text: src[i : i+n], start: i, end: i + n}, nil
	}
	switch c {
	case '*':
		if next == '*' {
			return token{}, errAt(i, i+2, "unknown operator \"**\"; write ^ for powers")
		}
		return op(1)
	case '&':
		if next == '&' {
			return token{}, errAt(i, i+2, "unknown operator \"&&\"; write & for and")
		}
		return op(1)
	case '|':
		if next == '|' {
			return token{}, errAt(i, i+2, "unknown operator \"||\"; write | for or")
		}
		return op(1)
	case '+', '-', '/', '^', '~':
		return op(1)
	case '=':
		if next == '=' {
			return op(2)
		}
		return token{}, errAt(i, i+1, "unknown operator \"=\"; write == to compare")
	case '!', '<', '>':
		if next == '=' {
			return op(2)
		}
		if c == '<' && next == '>' {
			return token{}, errAt(i, i+2, "unknown operator \"<>\"; write != for not equal")
		}
		return op(1)
	}
	r := string(c)
	end := i + 1
	if c >= 0x80 { // show the whole UTF-8 character
		for end < len(src) && src[end]&0xC0 == 0x80 {
			end++
		}
		r = src[i:end]
	}
	return token{}, errAt(i, end, "unexpected character %q", r)
}
