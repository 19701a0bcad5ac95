package examples

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite each example's policy.json from its template.yaml")

// The examples that are Lambda functions, each with a template.
var functions = []string{"basic", "json-credentials", "managed-instances", "sdk-source", "tracing"}

const extensionLayer = "AWS-Parameters-and-Secrets-Lambda-Extension"

// cfn turns a YAML node into plain values, with CloudFormation's short-form
// tags in their long form: !Sub x is {"Fn::Sub": x}, !Ref x is {"Ref": x},
// !GetAtt a.b is {"Fn::GetAtt": [a, b]}, as cfn-lint and CloudFormation read them.
func cfn(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return cfn(n.Content[0])
	case yaml.AliasNode:
		return cfn(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := cfn(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			val, err := cfn(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if err := n.Decode(&v); err != nil || custom(n.Tag) {
			v = n.Value
		}
	}
	if !custom(n.Tag) {
		return v, nil
	}
	switch fn := n.Tag[1:]; fn {
	case "Ref", "Condition":
		return map[string]any{fn: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			a, b, _ := strings.Cut(s, ".")
			v = []any{a, b}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + fn: v}, nil
	}
}

// custom reports a local tag such as !Sub, as against YAML's own (!!str).
func custom(tag string) bool { return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") }

func loadTemplate(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	v, err := cfn(&doc)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: not a mapping", path)
	}
	return m
}

// get walks m along keys; nil when a key is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func list(v any) []any {
	if s, ok := v.([]any); ok {
		return s
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// statements returns a function's inline policy statements, with the true
// branch of each Fn::If (the most a deployment can grant).
func statements(fn map[string]any) []map[string]any {
	var out []map[string]any
	for _, p := range list(get(fn, "Properties", "Policies")) {
		for _, s := range list(get(p, "Statement")) {
			s = ifTrue(s)
			if m, ok := s.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func ifTrue(v any) any {
	if args, ok := get(v, "Fn::If").([]any); ok && len(args) == 3 {
		return args[1]
	}
	return v
}

// plain renders an intrinsic-bearing value as plain IAM JSON, with
// placeholders: REGION, ACCOUNT_ID, and a parameter's name in capitals
// (SecretKmsKeyArn: SECRET_KMS_KEY_ARN).
func plain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["Fn::Sub"].(string); ok {
			return subst(s)
		}
		if r, ok := x["Ref"].(string); ok {
			return placeholder(r)
		}
		if _, ok := x["Fn::If"]; ok {
			return plain(ifTrue(x))
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

var subVar = regexp.MustCompile(`\$\{([^}!]+)\}`)

func subst(s string) string {
	return subVar.ReplaceAllStringFunc(s, func(m string) string { return placeholder(m[2 : len(m)-1]) })
}

func placeholder(name string) string {
	switch name {
	case "AWS::Partition":
		return "aws"
	case "AWS::Region":
		return "REGION"
	case "AWS::AccountId":
		return "ACCOUNT_ID"
	}
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' && !(name[i-1] >= 'A' && name[i-1] <= 'Z') {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// decl is what a main.go declares.
type decl struct {
	params, secrets, paths []string
	// sdk says that mw's AWS SDK source (awssdk.New) fetches them, rather
	// than the extension.
	sdk bool
}

// declared returns the items a main.go declares with mw.WithParameters,
// WithParameter, WithSecrets, WithSecret and WithParametersByPath, by
// string literal or by a constant of the same file (a constant may be
// another plus a literal), and whether it uses the SDK source. ok is false
// when there is no main.go.
func declared(t *testing.T, dir string) (d decl, ok bool) {
	t.Helper()
	path := filepath.Join(dir, "main.go")
	if _, err := os.Stat(path); err != nil {
		return decl{}, false
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]ast.Expr{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					consts[name.Name] = vs.Values[i]
				}
			}
		}
		return true
	})
	var str func(e ast.Expr) (string, bool)
	str = func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(x.Value)
			return s, err == nil && x.Kind == token.STRING
		case *ast.Ident:
			if v, ok := consts[x.Name]; ok {
				return str(v)
			}
		case *ast.BinaryExpr:
			a, okA := str(x.X)
			b, okB := str(x.Y)
			return a + b, okA && okB && x.Op == token.ADD
		}
		return "", false
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if fmt.Sprint(sel.X) == "awssdk" && sel.Sel.Name == "New" {
			d.sdk = true
		}
		if fmt.Sprint(sel.X) != "mw" {
			return true
		}
		args := call.Args
		var into *[]string
		switch sel.Sel.Name {
		case "WithParameter", "WithSecret", "WithParametersByPath":
			args = args[:1]
		case "WithParameters", "WithSecrets":
		default:
			return true
		}
		switch sel.Sel.Name {
		case "WithParametersByPath":
			into = &d.paths
		case "WithParameter", "WithParameters":
			into = &d.params
		default:
			into = &d.secrets
		}
		for _, a := range args {
			s, ok := str(a)
			if !ok {
				t.Errorf("%s: %s: cannot read the name %s", path, sel.Sel.Name, fset.Position(a.Pos()))
				continue
			}
			*into = append(*into, s)
		}
		return true
	})
	return d, true
}

// fromEnv adds the items a template declares in MW_PARAMETERS / MW_SECRETS
// (comma-separated, alias=name allowed), which mw merges with main.go's.
func fromEnv(env map[string]any, key string) []string {
	s, _ := env[key].(string)
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if _, name, ok := strings.Cut(f, "="); ok {
			f = name
		}
		out = append(out, f)
	}
	return out
}

func parameterARN(name string) string {
	return "arn:aws:ssm:REGION:ACCOUNT_ID:parameter/" + strings.TrimPrefix(name, "/")
}

func secretARN(name string) string {
	return "arn:aws:secretsmanager:REGION:ACCOUNT_ID:secret:" + name + "-??????"
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}

func TestTemplates(t *testing.T) {
	var layerAccounts any
	for _, name := range functions {
		t.Run(name, func(t *testing.T) {
			dir := name
			tpl := loadTemplate(t, filepath.Join(dir, "template.yaml"))
			if got := get(tpl, "Transform"); got != "AWS::Serverless-2016-10-31" {
				t.Errorf("Transform = %v, want AWS::Serverless-2016-10-31", got)
			}
			d, ok := declared(t, dir)
			accounts := get(tpl, "Mappings", "ExtensionLayerAccounts")
			switch {
			case d.sdk && accounts != nil:
				t.Error("the SDK source needs no layer, nor Mappings.ExtensionLayerAccounts")
			case d.sdk:
			case accounts == nil:
				t.Error("no Mappings.ExtensionLayerAccounts")
			case layerAccounts == nil:
				layerAccounts = accounts
			case !reflect.DeepEqual(accounts, layerAccounts):
				t.Error("Mappings.ExtensionLayerAccounts differs from the other templates'")
			}
			var fns []map[string]any
			resources, _ := get(tpl, "Resources").(map[string]any)
			for _, id := range sorted(keys(resources)) {
				if r, _ := resources[id].(map[string]any); get(r, "Type") == "AWS::Serverless::Function" {
					fns = append(fns, r)
				}
			}
			if len(fns) != 1 {
				t.Fatalf("%d AWS::Serverless::Function resources, want 1", len(fns))
			}
			fn := fns[0]
			checkFunction(t, fn, d.sdk)

			// The policy grants exactly the calls the source makes for what
			// main.go (and MW_* in the template) declares, with no wildcard
			// but a secret's suffix and the "*" BatchGetSecretValue takes.
			granted := map[string][]string{}
			for _, s := range statements(fn) {
				if get(s, "Effect") != "Allow" {
					continue
				}
				res := plain(get(s, "Resource"))
				for _, a := range list(get(s, "Action")) {
					a, _ := a.(string)
					for _, r := range list(res) {
						r, _ := r.(string)
						granted[a] = append(granted[a], r)
						if a == "kms:Decrypt" && get(s, "Condition", "StringEquals", "kms:ViaService") == nil {
							t.Errorf("kms:Decrypt on %s has no kms:ViaService condition", r)
						}
						if a == "secretsmanager:BatchGetSecretValue" && r == "*" {
							continue
						}
						if bare := strings.TrimSuffix(r, "-??????"); strings.ContainsAny(bare, "*?") {
							t.Errorf("%v on %q: a wildcard", a, r)
						}
					}
				}
			}
			want := map[string][]string{}
			// kms:Decrypt exactly where a customer managed key is a parameter.
			tplParams, _ := get(tpl, "Parameters").(map[string]any)
			for _, p := range sorted(keys(tplParams)) {
				if strings.HasSuffix(p, "KmsKeyArn") {
					want["kms:Decrypt"] = append(want["kms:Decrypt"], placeholder(p))
				}
			}
			if !ok {
				t.Logf("%s/main.go is not there yet: the policy is not checked against its declarations", dir)
				for a := range granted {
					if a != "kms:Decrypt" {
						delete(granted, a)
					}
				}
			} else {
				env, _ := get(fn, "Properties", "Environment", "Variables").(map[string]any)
				d.params = append(d.params, fromEnv(env, "MW_PARAMETERS")...)
				d.secrets = append(d.secrets, fromEnv(env, "MW_SECRETS")...)
				for a, rs := range wantActions(d) {
					want[a] = rs
				}
			}
			for _, a := range sorted(append(keys(want), keys(granted)...)) {
				switch {
				case want[a] == nil:
					t.Errorf("the policy grants %v, which this example does not need", a)
				case !slices.Equal(sorted(granted[a]), sorted(want[a])):
					t.Errorf("%s on\n\t%v\nbut main.go needs it on\n\t%v", a, sorted(granted[a]), sorted(want[a]))
				}
			}

			checkPolicyJSON(t, dir, fn)
		})
	}
}

// wantActions returns the IAM actions the source of d calls for its items,
// and the resources of each: the extension calls ssm:GetParameter and
// secretsmanager:GetSecretValue for each item; the SDK source
// ssm:GetParameters, ssm:GetParametersByPath on each path, and
// secretsmanager:BatchGetSecretValue (on "*") with GetSecretValue on each
// secret. (A secret pinned with VersionStage or VersionID needs no
// BatchGetSecretValue; no example declares only those.)
func wantActions(d decl) map[string][]string {
	want := map[string][]string{}
	getParameter := "ssm:GetParameter"
	if d.sdk {
		getParameter = "ssm:GetParameters"
		for _, p := range d.paths {
			want["ssm:GetParametersByPath"] = append(want["ssm:GetParametersByPath"], parameterARN(p))
		}
		if len(d.secrets) > 0 {
			want["secretsmanager:BatchGetSecretValue"] = []string{"*"}
		}
	}
	for _, p := range d.params {
		want[getParameter] = append(want[getParameter], parameterARN(p))
	}
	for _, s := range d.secrets {
		want["secretsmanager:GetSecretValue"] = append(want["secretsmanager:GetSecretValue"], secretARN(s))
	}
	return want
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkFunction checks what every function's properties must be, and
// that the extension's layer and settings are there unless the function
// uses the SDK source (sdk), and then are not.
func checkFunction(t *testing.T, fn map[string]any, sdk bool) {
	t.Helper()
	props, _ := get(fn, "Properties").(map[string]any)
	if get(props, "Runtime") != "provided.al2023" {
		t.Errorf("Runtime = %v, want provided.al2023", get(props, "Runtime"))
	}
	if get(props, "Handler") != "bootstrap" {
		t.Errorf("Handler = %v, want bootstrap", get(props, "Handler"))
	}
	if get(fn, "Metadata", "BuildMethod") != "go1.x" {
		t.Errorf("Metadata.BuildMethod = %v, want go1.x", get(fn, "Metadata", "BuildMethod"))
	}
	if a := list(get(props, "Architectures")); len(a) != 1 {
		t.Errorf("Architectures = %v, want one", a)
	}
	layerOK, anyLayer := false, false
	for _, l := range list(get(props, "Layers")) {
		sub := list(get(l, "Fn::Sub"))
		if len(sub) > 0 {
			if s, _ := sub[0].(string); strings.Contains(s, ":layer:"+extensionLayer) {
				anyLayer = true
				layerOK = layerOK || strings.Contains(s, ":layer:"+extensionLayer+"${Arm64}:")
			}
		}
	}
	env, _ := get(props, "Environment", "Variables").(map[string]any)
	settings := []string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "SSM_PARAMETER_STORE_TTL", "SECRETS_MANAGER_TTL"}
	if sdk {
		if anyLayer {
			t.Errorf("the %s layer, with the SDK source, which needs none", extensionLayer)
		}
		for _, k := range settings {
			if _, ok := env[k]; ok {
				t.Errorf("Environment.Variables has the extension's %s, with the SDK source", k)
			}
		}
		return
	}
	if !layerOK {
		t.Errorf("no Layers entry is the %s layer for the region and architecture", extensionLayer)
	}
	for _, k := range settings {
		if _, ok := env[k]; !ok {
			t.Errorf("Environment.Variables has no %s", k)
		}
	}
}

// policyJSON is the plain IAM policy for a function, from its template.
func policyJSON(fn map[string]any) []byte {
	var stmts []any
	for _, s := range statements(fn) {
		stmts = append(stmts, plain(s))
	}
	doc := map[string]any{"Version": "2012-10-17", "Statement": stmts}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(doc)
	return b.Bytes()
}

func checkPolicyJSON(t *testing.T, dir string, fn map[string]any) {
	t.Helper()
	path := filepath.Join(dir, "policy.json")
	want := policyJSON(fn)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go -C examples test . -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the template's policy; go -C examples test . -update rewrites it. Want:\n%s", path, want)
	}
}

// The decoder keeps CloudFormation's short forms apart.
func TestCFNShortForms(t *testing.T) {
	var doc yaml.Node
	src := "a: !Sub x-${AWS::Region}\nb: !Ref P\nc: !GetAtt R.Arn\nd: !If [C, 1, 2]\ne: [!Sub [\"${X}\", {X: !Ref Y}]]\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	got, err := cfn(&doc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": map[string]any{"Fn::Sub": "x-${AWS::Region}"},
		"b": map[string]any{"Ref": "P"},
		"c": map[string]any{"Fn::GetAtt": []any{"R", "Arn"}},
		"d": map[string]any{"Fn::If": []any{"C", 1, 2}},
		"e": []any{map[string]any{"Fn::Sub": []any{"${X}", map[string]any{"X": map[string]any{"Ref": "Y"}}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	if p := plain(get(got, "a")); p != "x-REGION" {
		t.Errorf("plain(!Sub) = %v", p)
	}
}
