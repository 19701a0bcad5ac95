package mwtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// The token is compared in constant time: tokenOK calls crypto/subtle, and
// compares nothing with == or != but to a literal (whether the check is
// on, the result of ConstantTimeCompare); no other code compares the token
// with == or != except to "".
func TestTokenComparedInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	usesSubtle := false
	for _, de := range entries {
		name := de.Name()
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			usesSubtle = checkTokenComparisons(t, fset, name) || usesSubtle
		}
	}
	if !usesSubtle {
		t.Error("tokenOK does not call crypto/subtle.ConstantTimeCompare")
	}
}

// checkTokenComparisons reports every == or != on the token in file name,
// and whether its tokenOK calls subtle.ConstantTimeCompare.
func checkTokenComparisons(t *testing.T, fset *token.FileSet, name string) (usesSubtle bool) {
	f, err := parser.ParseFile(fset, name, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Name.Name == "tokenOK" {
				usesSubtle = callsSubtle(n.Body)
				reportNonLiteralComparisons(t, fset, n.Body)
			}
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) && comparesToken(n) {
				t.Errorf("%s: the token compared with %s", fset.Position(n.Pos()), n.Op)
			}
		}
		return true
	})
	return usesSubtle
}

func comparesToken(b *ast.BinaryExpr) bool {
	isToken := func(x ast.Expr) bool {
		sel, ok := x.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "token"
	}
	isEmpty := func(x ast.Expr) bool {
		lit, ok := x.(*ast.BasicLit)
		return ok && lit.Value == `""`
	}
	return (isToken(b.X) && !isEmpty(b.Y)) || (isToken(b.Y) && !isEmpty(b.X))
}

// reportNonLiteralComparisons reports each == or != in body that has no
// literal side: a comparison of two strings or two digests.
func reportNonLiteralComparisons(t *testing.T, fset *token.FileSet, body *ast.BlockStmt) {
	ast.Inspect(body, func(n ast.Node) bool {
		b, ok := n.(*ast.BinaryExpr)
		if !ok || (b.Op != token.EQL && b.Op != token.NEQ) {
			return true
		}
		_, litX := b.X.(*ast.BasicLit)
		_, litY := b.Y.(*ast.BasicLit)
		if !litX && !litY {
			t.Errorf("%s: tokenOK compares with %s; compare with crypto/subtle", fset.Position(b.Pos()), b.Op)
		}
		return true
	})
}

func callsSubtle(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "subtle" && sel.Sel.Name == "ConstantTimeCompare" {
				found = true
			}
		}
		return true
	})
	return found
}

// tokenOK accepts the token and nothing else: not a prefix, not a longer
// string, not empty; and anything when the check is off.
func TestTokenOK(t *testing.T) {
	e := New(Managed)
	e.SetToken("secret-token")
	for got, want := range map[string]bool{"secret-token": true, "secret-toke": false, "secret-token!": false, "": false, "Secret-token": false} {
		if e.tokenOK(got) != want {
			t.Errorf("tokenOK(%q) = %v, want %v", got, !want, want)
		}
	}
	e.SetToken("")
	if !e.tokenOK("") || !e.tokenOK("anything") {
		t.Error("with the check off, tokenOK refuses")
	}
}
