package formula

import (
	"strconv"
	"strings"
)

// nodeKind is the kind of an AST node.
type nodeKind uint8

const (
	nConst  nodeKind = iota // a number or keyword, val
	nVar                    // a variable, name
	nNull                   // NULL, valid only as an operand of == or != (then rewritten)
	nOp                     // an elementwise operation op on args
	nReduce                 // a reduction red of args[0] to one number
)

// node is an AST node with the byte span [start, end) of its source.
type node struct {
	kind       nodeKind
	op         opcode
	red        reduction
	val        float64
	name       string // variable name, or the function or operator spelling for messages
	args       []*node
	start, end int
	// uniform is set by check: the node's value is one number for the whole array (it
	// uses no variable outside a reduction).
	uniform bool
}

// parser is a precedence-climbing parser over the tokens of one formula.
type parser struct {
	src   string
	toks  []token
	pos   int
	depth int
	nodes int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

// newNode counts the node against MaxNodes.
func (p *parser) newNode(n *node) (*node, error) {
	return p.newNodeAt(n, n.start, n.end)
}

// newNodeAt counts the node against MaxNodes; an error points at [start, end).
func (p *parser) newNodeAt(n *node, start, end int) (*node, error) {
	p.nodes++
	if p.nodes > MaxNodes {
		return nil, errAt(start, end, "formula has more than %d parts (values, operators and calls)", MaxNodes)
	}
	return n, nil
}

// parse parses a whole formula; text after the end of the expression is an error (why:
// django-raster silently ignored it, so "a+" and "a)" evaluated to a).
func parse(src string) (*node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	if p.peek().kind == tEOF {
		return nil, errAt(0, len(src), "empty formula")
	}
	n, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		switch t.kind {
		case tRParen:
			return nil, errAt(t.start, t.end, "unmatched \")\"")
		case tNum, tName, tLParen:
			return nil, p.apart(errAt(t.start, t.end, "missing operator before %q", t.text))
		}
		return nil, errAt(t.start, t.end, "unexpected %q after the end of the formula", t.text)
	}
	return n, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		t := p.peek()
		return errAt(t.start, t.end, "formula nests deeper than %d levels", MaxDepth)
	}
	return nil
}

// parseExpr parses a whole expression (the formula, a parenthesised expression or a
// function argument).
func (p *parser) parseExpr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	return p.parseBinary(1)
}

// parseBinary parses operands joined by binary operators of precedence ≥ minPrec (left
// associative; ^ is handled by parsePower).
func (p *parser) parseBinary(minPrec int) (*node, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp {
			return left, nil
		}
		op, prec, ok := binaryOp(t.text)
		if !ok || prec < minPrec || prec >= precUnary {
			return left, nil
		}
		p.next()
		right, err := p.parseBinary(prec + 1)
		if err != nil {
			return nil, err
		}
		if left, err = p.binary(op, t, left, right); err != nil {
			return nil, err
		}
	}
}

// binary builds a binary node; x == NULL and x != NULL become the NULL tests.
func (p *parser) binary(op opcode, t token, left, right *node) (*node, error) {
	n := &node{kind: nOp, op: op, name: t.text, args: []*node{left, right}, start: left.start, end: right.end}
	if left.kind == nNull || right.kind == nNull {
		if op != opEq && op != opNe {
			bad := left
			if right.kind == nNull {
				bad = right
			}
			return nil, errAt(bad.start, bad.end, "NULL can only be compared with == or != (x == NULL, x != NULL), not with %q", t.text)
		}
		if left.kind == nNull && right.kind == nNull {
			return nil, errAt(left.start, right.end, "NULL compared with NULL; compare a value with NULL (x == NULL)")
		}
		x := left
		if x.kind == nNull {
			x = right
		}
		n.op, n.args = opIsNull, []*node{x}
		if op == opNe {
			n.op = opNotNull
		}
	}
	return p.newNodeAt(n, t.start, t.end)
}

// parseUnary parses stacked unary operators (why: django-raster applied only the first of
// them and refused them before a parenthesis) and then a power.
func (p *parser) parseUnary() (*node, error) {
	t := p.peek()
	if t.kind != tOp || (t.text != "-" && t.text != "+" && t.text != "!" && t.text != "~") {
		return p.parsePower()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.next()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	n := &node{kind: nOp, name: t.text, args: []*node{x}, start: t.start, end: x.end}
	switch t.text {
	case "-":
		n.op = opNeg
	case "!":
		n.op = opNot
	default: // + and ~ both show nodata pixels through, as in django-raster
		n.op = opUnmask
	}
	return p.newNode(n)
}

// parsePower parses a primary, raised to a unary expression when ^ follows: 2^3^2 is
// 2^(3^2) and 2^-1 is 0.5.
func (p *parser) parsePower() (*node, error) {
	base, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tOp || t.text != "^" {
		return base, nil
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.next()
	exp, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return p.binary(opPow, t, base, exp)
}

// parsePrimary parses a number, keyword, variable, call or parenthesised expression.
func (p *parser) parsePrimary() (*node, error) {
	t := p.next()
	switch t.kind {
	case tNum:
		return p.newNode(&node{kind: nConst, val: t.num, name: t.text, start: t.start, end: t.end})
	case tName:
		if p.peek().kind == tLParen {
			return p.parseCall(t)
		}
		if t.text == "NULL" {
			return p.newNode(&node{kind: nNull, name: t.text, start: t.start, end: t.end})
		}
		if v, ok := keyword(t.text); ok {
			return p.newNode(&node{kind: nConst, val: v, name: t.text, start: t.start, end: t.end})
		}
		if lookupFunc(t.text) != nil {
			return nil, errAt(t.start, t.end, "%q is a function; call it as %s(…)", t.text, t.text)
		}
		return p.newNode(&node{kind: nVar, name: t.text, start: t.start, end: t.end})
	case tLParen:
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		r := p.peek()
		if r.kind != tRParen {
			return nil, p.apart(p.expected(r, "\")\" to close the \"(\" at %d", t.start))
		}
		p.next()
		x.start, x.end = t.start, r.end
		return x, nil
	case tEOF:
		return nil, errAt(t.start, t.end, "formula ends where a value is expected")
	}
	return nil, p.expected(t, "a value")
}

// expected returns an error at t saying what was expected there.
func (p *parser) expected(t token, format string, args ...any) *Error {
	e := errAt(t.start, t.end, "expected "+format, args...)
	if t.kind == tEOF {
		e.Msg += ", found the end of the formula"
	} else {
		e.Msg += ", found " + quote(t.text)
	}
	return e
}

// apart marks e, an error at the next token where an operator was expected, with
// ErrSpaceBetweenOperands when that token starts an operand and only spaces (U+0020, what a
// "+" in a URL's query decodes to) separate it from the end of the operand before it.
func (p *parser) apart(e *Error) *Error {
	if p.pos == 0 {
		return e
	}
	prev, t := p.toks[p.pos-1], p.toks[p.pos]
	operandEnd := prev.kind == tNum || prev.kind == tName || prev.kind == tRParen
	operandStart := t.kind == tNum || t.kind == tName || t.kind == tLParen
	if operandEnd && operandStart && spacesOnly(p.src[prev.end:t.start]) {
		e.wrapped = ErrSpaceBetweenOperands
	}
	return e
}

// spacesOnly tells whether gap, the source between two tokens, is one or more spaces
// (U+0020) and nothing else.
func spacesOnly(gap string) bool { return gap != "" && strings.Trim(gap, " ") == "" }

func quote(s string) string { return "\"" + s + "\"" }

// parseCall parses a function call; name is the function's name token and "(" is next.
func (p *parser) parseCall(name token) (*node, error) {
	fn := lookupFunc(name.text)
	if fn == nil {
		names := make([]string, len(functions))
		for i, f := range functions {
			names[i] = f.Name
		}
		e := errAt(name.start, name.end, "unknown function %q (functions: %s)", name.text, strings.Join(names, ", "))
		// "a (b)" is the call of a function "a" to the parser, but a name that is no
		// function, then spaces, then "(" is what formula=a+(b) sent unescaped arrives as.
		if spacesOnly(p.src[name.end:p.peek().start]) {
			e.wrapped = ErrSpaceBetweenOperands
		}
		return nil, e
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.next() // (
	var args []*node
	if p.peek().kind != tRParen {
		for {
			a, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			t := p.peek()
			if t.kind == tComma {
				p.next()
				continue
			}
			if t.kind != tRParen {
				return nil, p.apart(p.expected(t, "\",\" or \")\" in the call of %s", name.text))
			}
			break
		}
	}
	r := p.next() // )
	if len(args) < fn.MinArgs || fn.MaxArgs >= 0 && len(args) > fn.MaxArgs {
		want := ""
		switch {
		case fn.MaxArgs < 0:
			want = "at least " + plural(fn.MinArgs, "argument")
		case fn.MinArgs == fn.MaxArgs:
			want = plural(fn.MinArgs, "argument")
		default:
			want = strconv.Itoa(fn.MinArgs) + " to " + plural(fn.MaxArgs, "argument")
		}
		return nil, errAt(name.start, r.end, "%s takes %s, got %d", name.text, want, len(args))
	}
	if fn.red != redNone && len(args) == 1 {
		return p.newNode(&node{kind: nReduce, red: fn.red, name: name.text, args: args, start: name.start, end: r.end})
	}
	if fn.op == opMin2 || fn.op == opMax2 { // min(a, b, c) = min(min(a, b), c)
		acc := args[0]
		for _, a := range args[1:] {
			var err error
			acc, err = p.newNode(&node{kind: nOp, op: fn.op, name: name.text, args: []*node{acc, a}, start: name.start, end: r.end})
			if err != nil {
				return nil, err
			}
		}
		return acc, nil
	}
	return p.newNode(&node{kind: nOp, op: fn.op, name: name.text, args: args, start: name.start, end: r.end})
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
