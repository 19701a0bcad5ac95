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

var update = flag.Bool("update", false, "rewrite each example's policy.json from its template.yaml, and each template's Mappings from "+layerTablePath)

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
	layers := loadLayerTable(t)
	for _, name := range functions {
		t.Run(name, func(t *testing.T) {
			dir := name
			path := filepath.Join(dir, "template.yaml")
			d, ok := declared(t, dir)
			if !d.sdk {
				checkMappings(t, path, layers)
			}
			tpl := loadTemplate(t, path)
			if got := get(tpl, "Transform"); got != "AWS::Serverless-2016-10-31" {
				t.Errorf("Transform = %v, want AWS::Serverless-2016-10-31", got)
			}
			if d.sdk && get(tpl, "Mappings", "ExtensionLayers") != nil {
				t.Error("the SDK source needs no layer, nor Mappings.ExtensionLayers")
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
			if !d.sdk {
				checkExtensionLayer(t, tpl, fn, layers)
			}

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
	env, _ := get(props, "Environment", "Variables").(map[string]any)
	settings := []string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "SSM_PARAMETER_STORE_TTL", "SECRETS_MANAGER_TTL"}
	if sdk {
		if l := list(get(props, "Layers")); len(l) > 0 {
			t.Errorf("Layers = %v, with the SDK source, which needs none", l)
		}
		for _, k := range settings {
			if _, ok := env[k]; ok {
				t.Errorf("Environment.Variables has the extension's %s, with the SDK source", k)
			}
		}
		return
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

// layerTable is AWS's table of extension layer ARNs, as copied into
// testdata/extension-layers.txt: the one source of every template's
// ExtensionLayers mapping.
type layerTable struct {
	updated string            // the table's "Last updated" date, as AWS writes it
	regions []string          // in the table's order
	account map[string]string // region → the account that publishes the layer there
	version map[string]int    // layerKey(region, arch) → layer version
}

const layerTablePath = "testdata/extension-layers.txt"

// The two values of a template's Architecture parameter.
var architectures = []string{"x86_64", "arm64"}

func layerKey(region, arch string) string { return region + " " + arch }

var layerARN = regexp.MustCompile(`^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):([0-9]{12}):layer:` + extensionLayer + `(-Arm64)?:([1-9][0-9]*)$`)

func loadLayerTable(t *testing.T) layerTable {
	t.Helper()
	data, err := os.ReadFile(layerTablePath)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := parseLayerTable(string(data))
	if err != nil {
		t.Fatalf("%s: %v", layerTablePath, err)
	}
	return tab
}

func parseLayerTable(src string) (layerTable, error) {
	tab := layerTable{account: map[string]string{}, version: map[string]int{}}
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if date, ok := strings.CutPrefix(line, "Last updated: "); ok {
			tab.updated = date
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := layerARN.FindStringSubmatch(line)
		if m == nil {
			return tab, fmt.Errorf("line %d: %q is not an ARN of the %s layer", i+1, line, extensionLayer)
		}
		partition, region, account, arch := m[1], m[2], m[3], "x86_64"
		if m[4] != "" {
			arch = "arm64"
		}
		if partition != partitionOf(region) {
			return tab, fmt.Errorf("line %d: partition %s, but %s is in %s", i+1, partition, region, partitionOf(region))
		}
		if a, ok := tab.account[region]; !ok {
			tab.regions = append(tab.regions, region)
			tab.account[region] = account
		} else if a != account {
			return tab, fmt.Errorf("line %d: account %s in %s, where another line has %s", i+1, account, region, a)
		}
		if _, dup := tab.version[layerKey(region, arch)]; dup {
			return tab, fmt.Errorf("line %d: a second %s layer in %s", i+1, arch, region)
		}
		tab.version[layerKey(region, arch)], _ = strconv.Atoi(m[5])
	}
	if tab.updated == "" || len(tab.regions) == 0 {
		return tab, fmt.Errorf("want a %q line and the ARNs", "Last updated: <date>")
	}
	return tab, nil
}

// partitionOf names the partition of a region, as ${AWS::Partition} does.
func partitionOf(region string) string {
	for prefix, p := range map[string]string{"cn-": "aws-cn", "us-gov-": "aws-us-gov", "eusc-": "aws-eusc"} {
		if strings.HasPrefix(region, prefix) {
			return p
		}
	}
	return "aws"
}

// arn is the table's ARN of the layer for region and arch, as AWS lists it.
func (tab layerTable) arn(region, arch string, version int) string {
	suffix := ""
	if arch == "arm64" {
		suffix = "-Arm64"
	}
	return fmt.Sprintf("arn:%s:lambda:%s:%s:layer:%s%s:%d", partitionOf(region), region, tab.account[region], extensionLayer, suffix, version)
}

// mappings is the Mappings section every template has, generated from the
// table. Mapping keys may hold only letters and digits: x86 stands for
// x86_64.
func (tab layerTable) mappings() string {
	var b strings.Builder
	b.WriteString(`Mappings:
  # The AWS Parameters and Secrets Lambda Extension layer in each region: the account that
  # publishes it and the layer's version per architecture (x86 stands for x86_64: mapping keys
  # are letters and digits), from AWS's table last updated ` + tab.updated + ` (examples/README.md).
  # Generated from examples/testdata/extension-layers.txt by go test ./examples -update; a test
  # keeps every template equal to it.
  ExtensionLayers:
`)
	for _, r := range tab.regions {
		fmt.Fprintf(&b, "    %s: {Account: %q", r, tab.account[r])
		for _, a := range architectures {
			if v, ok := tab.version[layerKey(r, a)]; ok {
				fmt.Fprintf(&b, ", %s: \"%d\"", strings.TrimSuffix(a, "_64"), v)
			}
		}
		b.WriteString("}\n")
	}
	b.WriteString("\n")
	return b.String()
}

// mappingsSpan finds a template's Mappings section: from its key to the
// next top-level key.
func mappingsSpan(src string) (start, end int, ok bool) {
	start = strings.Index(src, "\nMappings:\n")
	if start < 0 {
		return 0, 0, false
	}
	start++
	next := regexp.MustCompile(`\n[A-Za-z]`).FindStringIndex(src[start:])
	if next == nil {
		return start, len(src), true
	}
	return start, start + next[0] + 1, true
}

// checkMappings wants the template's Mappings section to be exactly the one
// generated from the table (-update writes it).
func checkMappings(t *testing.T, path string, tab layerTable) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	start, end, ok := mappingsSpan(src)
	if !ok {
		t.Errorf("%s: no Mappings section", path)
		return
	}
	want := tab.mappings()
	if got := src[start:end]; got == want {
		return
	} else if !*update {
		g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		line := strings.Count(src[:start], "\n") + i + 1
		t.Errorf("%s:%d: Mappings differ from what %s makes; go -C examples test . -update rewrites them.\n\tgot  %q\n\twant %q",
			path, line, layerTablePath, at(g, i), at(w, i))
		return
	}
	if err := os.WriteFile(path, []byte(src[:start]+want+src[end:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end)"
}

// checkExtensionLayer resolves the function's Layers, as CloudFormation
// would, in every region and for both architectures: the extension's layer
// must be exactly the ARN of AWS's table, and a region or architecture the
// table lacks must fail the deploy rather than name some other layer.
// ExtensionLayerVersion, when set, pins the version.
func checkExtensionLayer(t *testing.T, tpl, fn map[string]any, tab layerTable) {
	t.Helper()
	for _, region := range append(slices.Clone(tab.regions), "xx-nowhere-1") {
		for _, arch := range architectures {
			got, err := resolveExtensionLayer(tpl, fn, region, map[string]any{"Architecture": arch})
			v, listed := tab.version[layerKey(region, arch)]
			switch {
			case !listed && err == nil:
				t.Errorf("%s %s: layer %s, but AWS's table has none there", region, arch, got)
			case listed && err != nil:
				t.Errorf("%s %s: %v", region, arch, err)
			case listed && got != tab.arn(region, arch, v):
				t.Errorf("%s %s: layer\n\t%s\nwant\n\t%s", region, arch, got, tab.arn(region, arch, v))
			}
		}
	}
	region := tab.regions[0]
	for _, arch := range architectures {
		got, err := resolveExtensionLayer(tpl, fn, region, map[string]any{"Architecture": arch, "ExtensionLayerVersion": "7"})
		if want := tab.arn(region, arch, 7); err != nil || got != want {
			t.Errorf("ExtensionLayerVersion=7, %s %s: layer %s (%v), want %s", region, arch, got, err, want)
		}
	}
}

// resolveExtensionLayer is the one entry of the function's Layers that is
// the extension's, resolved in region with the template's parameter defaults
// overridden by params.
func resolveExtensionLayer(tpl, fn map[string]any, region string, params map[string]any) (string, error) {
	e := cfnEval{tpl: tpl, params: map[string]any{
		"AWS::Region":    region,
		"AWS::Partition": partitionOf(region),
		"AWS::AccountId": "123456789012",
	}}
	decls, _ := get(tpl, "Parameters").(map[string]any)
	for name, d := range decls {
		if v := get(d, "Default"); v != nil {
			e.params[name] = v
		}
	}
	for k, v := range params {
		e.params[k] = v
	}
	var found []string
	for _, l := range list(get(fn, "Properties", "Layers")) {
		v, err := e.eval(l)
		if err != nil {
			return "", err
		}
		if s, ok := v.(string); ok && strings.Contains(s, ":layer:"+extensionLayer) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("Layers has %d entries that are the %s layer, want 1: %v", len(found), extensionLayer, found)
	}
	return found[0], nil
}

// cfnEval resolves the intrinsic functions that a template's Layers and
// conditions use, as CloudFormation does at deploy time: Ref, Fn::Sub,
// Fn::FindInMap, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition.
type cfnEval struct {
	tpl    map[string]any
	params map[string]any // parameter values, pseudo parameters included
}

// noValue is what Ref AWS::NoValue resolves to: an entry that is left out.
type noValue struct{}

func (e cfnEval) eval(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return v, nil
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Ref":
			name, _ := arg.(string)
			if name == "AWS::NoValue" {
				return noValue{}, nil
			}
			if p, ok := e.params[name]; ok {
				return p, nil
			}
			return nil, fmt.Errorf("Ref %s: no such parameter", name)
		case "Fn::Sub":
			return e.sub(arg)
		case "Fn::FindInMap":
			if len(args) != 3 {
				return nil, fmt.Errorf("Fn::FindInMap %v: want 3 arguments", arg)
			}
			var keys [3]string
			for i, a := range args {
				k, err := e.eval(a)
				if err != nil {
					return nil, err
				}
				keys[i] = fmt.Sprint(k)
			}
			if v := get(e.tpl, "Mappings", keys[0], keys[1], keys[2]); v != nil {
				return v, nil
			}
			return nil, fmt.Errorf("Fn::FindInMap: Mappings.%s has no %s.%s (the deploy fails)", keys[0], keys[1], keys[2])
		case "Fn::If":
			if len(args) != 3 {
				return nil, fmt.Errorf("Fn::If %v: want 3 arguments", arg)
			}
			name, _ := args[0].(string)
			c, err := e.condition(name)
			if err != nil {
				return nil, err
			}
			if c {
				return e.eval(args[1])
			}
			return e.eval(args[2])
		case "Condition":
			name, _ := arg.(string)
			return e.condition(name)
		case "Fn::Equals":
			if len(args) != 2 {
				return nil, fmt.Errorf("Fn::Equals %v: want 2 arguments", arg)
			}
			a, err := e.eval(args[0])
			if err != nil {
				return nil, err
			}
			b, err := e.eval(args[1])
			if err != nil {
				return nil, err
			}
			return fmt.Sprint(a) == fmt.Sprint(b), nil
		case "Fn::Not", "Fn::And", "Fn::Or":
			var bs []bool
			for _, a := range args {
				v, err := e.eval(a)
				if err != nil {
					return nil, err
				}
				b, ok := v.(bool)
				if !ok {
					return nil, fmt.Errorf("%s: %v is not a condition", fn, a)
				}
				bs = append(bs, b)
			}
			switch {
			case fn == "Fn::Not" && len(bs) == 1:
				return !bs[0], nil
			case fn == "Fn::And":
				return !slices.Contains(bs, false), nil
			case fn == "Fn::Or":
				return slices.Contains(bs, true), nil
			}
			return nil, fmt.Errorf("%s %v: want 1 argument", fn, arg)
		}
		if strings.HasPrefix(fn, "Fn::") {
			return nil, fmt.Errorf("%s: not supported by this test's evaluator", fn)
		}
	}
	return v, nil
}

func (e cfnEval) condition(name string) (bool, error) {
	def := get(e.tpl, "Conditions", name)
	if def == nil {
		return false, fmt.Errorf("no condition %q", name)
	}
	v, err := e.eval(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v, not a condition", name, v)
	}
	return b, nil
}

// sub is Fn::Sub: "${Name}" is a variable of the map, else a parameter;
// "${!Literal}" stays "${Literal}".
func (e cfnEval) sub(arg any) (any, error) {
	s, _ := arg.(string)
	var vars map[string]any
	if args, ok := arg.([]any); ok && len(args) == 2 {
		s, _ = args[0].(string)
		vars, _ = args[1].(map[string]any)
	}
	var err error
	out := regexp.MustCompile(`\$\{([^}]*)\}`).ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		v, ok := vars[name]
		if !ok {
			if v, ok = e.params[name]; !ok && err == nil {
				err = fmt.Errorf("Fn::Sub %q: no variable or parameter %s", s, name)
			}
		}
		r, rerr := e.eval(v)
		if rerr != nil && err == nil {
			err = rerr
		}
		return fmt.Sprint(r)
	})
	return out, err
}

// A table that the templates could not follow is refused, with the line.
func TestParseLayerTable(t *testing.T) {
	const head = "Last updated: July 28, 2026\n"
	const x86 = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:99\n"
	for name, c := range map[string]struct{ src, err string }{
		"no date":           {x86, "Last updated"},
		"not an ARN":        {head + "arn:aws:lambda:us-east-1:177933569100:layer:Other:1\n", "line 2"},
		"wrong partition":   {head + "arn:aws:lambda:cn-north-1:287114880934:layer:AWS-Parameters-and-Secrets-Lambda-Extension:1\n", "aws-cn"},
		"two accounts":      {head + x86 + "arn:aws:lambda:us-east-1:111111111111:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:1\n", "line 3: account"},
		"two x86_64 layers": {head + x86 + x86, "second x86_64"},
	} {
		if _, err := parseLayerTable(c.src); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: err = %v, want one saying %q", name, err, c.err)
		}
	}
	tab, err := parseLayerTable(head + x86 + "arn:aws-us-gov:lambda:us-gov-west-1:127562683043:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:87\n")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tab.arn("us-gov-west-1", "arm64", 87), "arn:aws-us-gov:lambda:us-gov-west-1:127562683043:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:87"; got != want {
		t.Errorf("arn = %s, want %s", got, want)
	}
	if got, want := tab.mappings(), "    us-east-1: {Account: \"177933569100\", x86: \"99\"}\n    us-gov-west-1: {Account: \"127562683043\", arm64: \"87\"}\n\n"; !strings.HasSuffix(got, want) {
		t.Errorf("mappings end in\n%s\nwant\n%s", got[strings.LastIndex(got, "ExtensionLayers:"):], want)
	}
}

// The examples' README cites the date of the table the templates follow.
func TestREADMECitesLayerTable(t *testing.T) {
	tab := loadLayerTable(t)
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), tab.updated) {
		t.Errorf("README.md does not give the date of AWS's table of layer ARNs (%s) that %s copies", tab.updated, layerTablePath)
	}
}
