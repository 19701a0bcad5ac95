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

var update = flag.Bool("update", false, "rewrite each example's policy.json from its template.yaml, and each template's Mappings from "+
	extensionSpec.table+" and "+appConfigSpec.table)

// The examples that are Lambda functions, each with a template.
var functions = []string{"appconfig-flags", "basic", "cloud-extensions", "json-credentials", "managed-instances", "sdk-source", "tracing"}

// A layerSpec is a layer the templates add, from AWS's table of its ARNs.
type layerSpec struct {
	name    string // the layer's name; "-Arm64" follows it for arm64
	table   string // the table's ARNs, one a line, in testdata
	mapping string // the template's Mappings key
	pin     string // the template parameter that pins another version
	comment string // what the mapping's comment says it is
}

var (
	// extensionSpec is the AWS Parameters and Secrets Lambda Extension.
	extensionSpec = layerSpec{
		name: "AWS-Parameters-and-Secrets-Lambda-Extension", table: "testdata/extension-layers.txt",
		mapping: "ExtensionLayers", pin: "ExtensionLayerVersion",
		comment: "The AWS Parameters and Secrets Lambda Extension layer in each region: the account that\n" +
			"  # publishes it and the layer's version per architecture (x86 stands for x86_64: mapping keys\n" +
			"  # are letters and digits), from AWS's table last updated %s (examples/README.md).",
	}
	// appConfigSpec is the AWS AppConfig Agent Lambda extension.
	appConfigSpec = layerSpec{
		name: "AWS-AppConfig-Extension", table: "testdata/appconfig-layers.txt",
		mapping: "AppConfigLayers", pin: "AppConfigLayerVersion",
		comment: "The AWS AppConfig Agent Lambda extension layer in each region: the account that publishes it\n" +
			"  # and the layer's version per architecture (x86 stands for x86_64: mapping keys are letters\n" +
			"  # and digits), from AWS's tables for version 2.0.20159 of %s (examples/README.md).",
	}
)

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
	// than the extension; cloudext that the Cloud Extensions source
	// (cloudext.New) fetches them all, AppConfig profiles included.
	sdk, cloudext bool
	// appconfig are the AppConfig profiles, which the AppConfig extension
	// serves, and flags the flags read of each, by profile.
	appconfig []profileDecl
	flags     map[string][]string
}

// profileDecl is an AppConfig profile declared with mw.WithAppConfig.
type profileDecl struct{ application, environment, profile string }

// extension reports whether the function needs the Parameters and Secrets
// extension: it declares parameters or secrets, or nothing known yet, and
// the SDK source does not fetch them.
func (d decl) extension() bool {
	return !d.sdk && !d.cloudext && (len(d.appconfig) == 0 || len(d.params)+len(d.secrets)+len(d.paths) > 0)
}

// declared returns the items a main.go declares with mw.WithParameters,
// WithParameter, WithSecrets, WithSecret, WithParametersByPath and
// WithAppConfig, and the flags it reads with mw.FeatureFlag, by string
// literal or by a constant of the same file (a constant may be another plus
// a literal), and whether it uses the SDK source. ok is false when there is
// no main.go.
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
		if fmt.Sprint(sel.X) == "cloudext" && sel.Sel.Name == "New" {
			d.cloudext = true
		}
		if fmt.Sprint(sel.X) != "mw" {
			return true
		}
		args := call.Args
		strs := func(args []ast.Expr) ([]string, bool) {
			var out []string
			for _, a := range args {
				s, ok := str(a)
				if !ok {
					t.Errorf("%s: %s: cannot read the name %s", path, sel.Sel.Name, fset.Position(a.Pos()))
					return nil, false
				}
				out = append(out, s)
			}
			return out, true
		}
		var into *[]string
		switch sel.Sel.Name {
		case "WithAppConfig":
			if s, ok := strs(args[:3]); ok {
				d.appconfig = append(d.appconfig, profileDecl{s[0], s[1], s[2]})
			}
			return true
		case "FeatureFlag":
			if s, ok := strs(args[1:3]); ok {
				if d.flags == nil {
					d.flags = map[string][]string{}
				}
				d.flags[s[0]] = append(d.flags[s[0]], s[1])
			}
			return true
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
		s, _ := strs(args)
		*into = append(*into, s...)
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
	extLayers, appLayers := loadLayerTable(t, extensionSpec), loadLayerTable(t, appConfigSpec)
	for _, name := range functions {
		t.Run(name, func(t *testing.T) {
			dir := name
			path := filepath.Join(dir, "template.yaml")
			d, ok := declared(t, dir)
			var layers []layerTable // the layers the function needs
			if d.extension() {
				layers = append(layers, extLayers)
			}
			if len(d.appconfig) > 0 && !d.cloudext {
				layers = append(layers, appLayers)
			}
			if len(layers) > 0 {
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
			checkFunction(t, fn, d.extension(), len(d.appconfig) > 0 && !d.cloudext)
			if d.cloudext {
				checkCloudExtensions(t, tpl, fn)
			}
			for _, tab := range layers {
				checkLayer(t, tpl, fn, tab)
			}
			for _, spec := range []layerSpec{extensionSpec, appConfigSpec} {
				needed := slices.ContainsFunc(layers, func(tab layerTable) bool { return tab.spec.name == spec.name })
				if s := fmt.Sprint(get(fn, "Properties", "Layers")); !needed && strings.Contains(s, spec.name) {
					t.Errorf("Layers holds the %s layer, which main.go does not need", spec.name)
				}
			}
			profiles := checkAppConfig(t, tpl, fn, d)

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
				for a, rs := range wantActions(d, profiles) {
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
// BatchGetSecretValue; no example declares only those.) The AppConfig
// extension calls appconfig:StartConfigurationSession and
// appconfig:GetLatestConfiguration on each profile's configuration ARN, of
// IDs (profiles, as checkAppConfig found them).
func wantActions(d decl, profiles []string) map[string][]string {
	want := map[string][]string{}
	for _, a := range []string{"appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"} {
		want[a] = append(want[a], profiles...)
	}
	if len(profiles) == 0 {
		want = map[string][]string{}
	}
	if d.cloudext {
		// The runtime's extensions call AWS with the function's role
		// (runtimeCredentials, no execution role in the profile): the
		// Secrets Manager extension checks versions with DescribeSecret,
		// the Parameter Store extension may call either read.
		for _, p := range d.params {
			for _, a := range []string{"ssm:GetParameter", "ssm:GetParameters"} {
				want[a] = append(want[a], parameterARN(p))
			}
		}
		for _, sec := range d.secrets {
			for _, a := range []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"} {
				want[a] = append(want[a], secretARN(sec))
			}
		}
		return want
	}
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

// checkCloudExtensions checks what a function read through Cloud
// Extensions needs: the runtime's layer, from the public parameters AWS
// publishes its ARNs in, for the function's architecture, and the profile
// the runtime loads.
func checkCloudExtensions(t *testing.T, tpl, fn map[string]any) {
	t.Helper()
	params, _ := get(tpl, "Parameters").(map[string]any)
	for _, arch := range architectures {
		// Each parameter resolves to its own name: which one the layer is.
		values := map[string]any{}
		for name := range params {
			values[name] = name
		}
		values["Architecture"] = arch
		got, err := cfnEval{tpl: tpl, params: values}.eval(list(get(fn, "Properties", "Layers"))[0])
		ref, _ := got.(string)
		want := "/aws/service/aws-cloudextensions/lambda-extension/" + map[string]string{"x86_64": "amd64", "arm64": "arm64"}[arch] + "/latest"
		p := params[ref]
		if get(p, "Type") != "AWS::SSM::Parameter::Value<String>" || get(p, "Default") != want {
			t.Errorf("%s: the layer is %v (%v), want a parameter of type AWS::SSM::Parameter::Value<String> defaulting to %s", arch, got, err, want)
		}
	}
	if len(list(get(fn, "Properties", "Layers"))) != 1 {
		t.Errorf("Layers = %v, want the runtime's alone", get(fn, "Properties", "Layers"))
	}
	if _, ok := get(fn, "Properties", "Environment", "Variables", "AWS_CLOUDEXTENSIONS_PROFILE").(map[string]any); !ok {
		t.Error("no AWS_CLOUDEXTENSIONS_PROFILE from a parameter: the runtime would load the account's default profile")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkFunction checks what every function's properties must be, and
// that each extension's settings are there when the function needs it
// (extension: the Parameters and Secrets one; appconfig: the AppConfig
// one), and are not when it does not.
func checkFunction(t *testing.T, fn map[string]any, extension, appconfig bool) {
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
	for _, ext := range []struct {
		needed   bool
		what     string
		settings []string
	}{
		{extension, "the Parameters and Secrets extension's", []string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "SSM_PARAMETER_STORE_TTL", "SECRETS_MANAGER_TTL"}},
		{appconfig, "the AppConfig extension's", []string{"AWS_APPCONFIG_EXTENSION_HTTP_PORT", "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS"}},
	} {
		for _, k := range ext.settings {
			if _, ok := env[k]; ok != ext.needed {
				t.Errorf("Environment.Variables has %s %s: %t, want %t (main.go needs the extension: %t)", ext.what, k, ok, ext.needed, ext.needed)
			}
		}
	}
	if !appconfig {
		for k := range env {
			if strings.HasPrefix(k, "AWS_APPCONFIG_EXTENSION_") {
				t.Errorf("Environment.Variables has %s, with no AppConfig profile declared", k)
			}
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

// layerTable is AWS's table of a layer's ARNs, as copied into testdata
// (spec.table): the one source of every template's mapping of it.
type layerTable struct {
	spec    layerSpec
	updated string            // the table's "Last updated" date, as AWS writes it
	regions []string          // in the table's order
	account map[string]string // region → the account that publishes the layer there
	version map[string]int    // layerKey(region, arch) → layer version
}

// The two values of a template's Architecture parameter.
var architectures = []string{"x86_64", "arm64"}

func layerKey(region, arch string) string { return region + " " + arch }

// arnPattern matches an ARN of the layer, with its partition, region,
// account, "-Arm64" and version.
func (s layerSpec) arnPattern() *regexp.Regexp {
	return regexp.MustCompile(`^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):([0-9]{12}):layer:` + regexp.QuoteMeta(s.name) + `(-Arm64)?:([1-9][0-9]*)$`)
}

func loadLayerTable(t *testing.T, spec layerSpec) layerTable {
	t.Helper()
	data, err := os.ReadFile(spec.table)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := parseLayerTable(spec, string(data))
	if err != nil {
		t.Fatalf("%s: %v", spec.table, err)
	}
	return tab
}

func parseLayerTable(spec layerSpec, src string) (layerTable, error) {
	tab := layerTable{spec: spec, account: map[string]string{}, version: map[string]int{}}
	layerARN := spec.arnPattern()
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
			return tab, fmt.Errorf("line %d: %q is not an ARN of the %s layer", i+1, line, spec.name)
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
	return fmt.Sprintf("arn:%s:lambda:%s:%s:layer:%s%s:%d", partitionOf(region), region, tab.account[region], tab.spec.name, suffix, version)
}

// mappings is the Mappings section of a template that adds the layers of
// tabs, generated from their tables.
func mappings(tabs []layerTable) string {
	blocks := make([]string, len(tabs))
	for i, tab := range tabs {
		blocks[i] = tab.mapping()
	}
	return "Mappings:\n" + strings.Join(blocks, "\n") + "\n"
}

// mapping is the table's mapping, with its comment. Mapping keys may hold
// only letters and digits: x86 stands for x86_64.
func (tab layerTable) mapping() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  # "+tab.spec.comment+"\n", tab.updated)
	fmt.Fprintf(&b, "  # Generated from examples/%s by go test ./examples -update; a test\n  # keeps every template equal to it.\n  %s:\n", tab.spec.table, tab.spec.mapping)
	for _, r := range tab.regions {
		fmt.Fprintf(&b, "    %s: {Account: %q", r, tab.account[r])
		for _, a := range architectures {
			if v, ok := tab.version[layerKey(r, a)]; ok {
				fmt.Fprintf(&b, ", %s: \"%d\"", strings.TrimSuffix(a, "_64"), v)
			}
		}
		b.WriteString("}\n")
	}
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
// generated from the tables of the layers it adds (-update writes it).
func checkMappings(t *testing.T, path string, tabs []layerTable) {
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
	want := mappings(tabs)
	if got := src[start:end]; got == want {
		return
	} else if !*update {
		g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		line := strings.Count(src[:start], "\n") + i + 1
		t.Errorf("%s:%d: Mappings differ from what testdata makes; go -C examples test . -update rewrites them.\n\tgot  %q\n\twant %q",
			path, line, at(g, i), at(w, i))
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

// checkLayer resolves the function's Layers, as CloudFormation would, in
// every region and for both architectures: the table's layer must be
// exactly the ARN of AWS's table, and a region or architecture the table
// lacks must fail the deploy rather than name some other layer. The spec's
// pin parameter, when set, pins the version.
func checkLayer(t *testing.T, tpl, fn map[string]any, tab layerTable) {
	t.Helper()
	for _, region := range append(slices.Clone(tab.regions), "xx-nowhere-1") {
		for _, arch := range architectures {
			got, err := resolveLayer(tpl, fn, tab.spec.name, region, map[string]any{"Architecture": arch})
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
		got, err := resolveLayer(tpl, fn, tab.spec.name, region, map[string]any{"Architecture": arch, tab.spec.pin: "7"})
		if want := tab.arn(region, arch, 7); err != nil || got != want {
			t.Errorf("%s=7, %s %s: layer %s (%v), want %s", tab.spec.pin, region, arch, got, err, want)
		}
	}
}

// resolveLayer is the one entry of the function's Layers that is the layer
// of that name, resolved in region with the template's parameter defaults
// overridden by params.
func resolveLayer(tpl, fn map[string]any, name, region string, params map[string]any) (string, error) {
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
		if s, ok := v.(string); ok && (strings.Contains(s, ":layer:"+name+":") || strings.Contains(s, ":layer:"+name+"-Arm64:")) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("Layers has %d entries that are the %s layer, want 1: %v", len(found), name, found)
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
	parseLayerTable := func(src string) (layerTable, error) { return parseLayerTable(extensionSpec, src) }
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
	if got, want := mappings([]layerTable{tab}), "    us-east-1: {Account: \"177933569100\", x86: \"99\"}\n    us-gov-west-1: {Account: \"127562683043\", arm64: \"87\"}\n\n"; !strings.HasSuffix(got, want) {
		t.Errorf("mappings end in\n%s\nwant\n%s", got[strings.LastIndex(got, "ExtensionLayers:"):], want)
	}
}

// The examples' README cites the date of each table the templates follow.
func TestREADMECitesLayerTable(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []layerSpec{extensionSpec, appConfigSpec} {
		if tab := loadLayerTable(t, spec); !strings.Contains(string(data), tab.updated) {
			t.Errorf("README.md does not give the date of AWS's table of layer ARNs (%s) that %s copies", tab.updated, spec.table)
		}
	}
}

// checkAppConfig checks the AppConfig resources behind each profile main.go
// declares: an application, an environment and a configuration profile of
// the names it asks by, a hosted version of the profile deployed to the
// environment (of feature flags holding every flag main.go reads, for a
// profile it reads flags of), deployments to one environment one after
// the other, and a prefetch list, if any, of exactly these profiles. It
// returns each profile's configuration ARN, of the resources' IDs, as
// policy.json writes it. IAM evaluates that ARN, of IDs, when the function
// asks by name: Powertools for AWS Lambda (TypeScript)'s end-to-end test of
// the extension asks by name under such a policy.
func checkAppConfig(t *testing.T, tpl, fn map[string]any, d decl) []string {
	t.Helper()
	resources, _ := get(tpl, "Resources").(map[string]any)
	ref := func(v any) string { s, _ := get(v, "Ref").(string); return s }
	// find returns the one resource of type typ whose properties match.
	find := func(what string, typ string, match func(props any) bool) string {
		var ids []string
		for _, id := range sorted(keys(resources)) {
			if get(resources[id], "Type") == typ && match(get(resources[id], "Properties")) {
				ids = append(ids, id)
			}
		}
		if len(ids) != 1 {
			t.Errorf("%d %s resources for %s, want 1: %v", len(ids), typ, what, ids)
			return ""
		}
		return ids[0]
	}
	var arns, prefetch []string
	byEnv := map[string][]string{} // deployments, by environment
	for _, p := range d.appconfig {
		what := fmt.Sprintf("mw.WithAppConfig(%q, %q, %q)", p.application, p.environment, p.profile)
		app := find(what, "AWS::AppConfig::Application", func(pr any) bool { return get(pr, "Name") == p.application })
		env := find(what, "AWS::AppConfig::Environment", func(pr any) bool { return ref(get(pr, "ApplicationId")) == app && get(pr, "Name") == p.environment })
		prof := find(what, "AWS::AppConfig::ConfigurationProfile", func(pr any) bool {
			return ref(get(pr, "ApplicationId")) == app && get(pr, "Name") == p.profile
		})
		dep := find(what, "AWS::AppConfig::Deployment", func(pr any) bool {
			return ref(get(pr, "ApplicationId")) == app && ref(get(pr, "EnvironmentId")) == env && ref(get(pr, "ConfigurationProfileId")) == prof
		})
		if app == "" || env == "" || prof == "" || dep == "" {
			continue
		}
		byEnv[env] = append(byEnv[env], dep)
		version := ref(get(resources[dep], "Properties", "ConfigurationVersion"))
		hosted := resources[version]
		if get(hosted, "Type") != "AWS::AppConfig::HostedConfigurationVersion" || ref(get(hosted, "Properties", "ConfigurationProfileId")) != prof {
			t.Errorf("%s: deployment %s deploys %q, not a hosted version of %s", what, dep, version, prof)
			continue
		}
		if flags := d.flags[p.profile]; len(flags) > 0 {
			checkFlags(t, what, get(resources[prof], "Properties", "Type"), get(hosted, "Properties", "Content"), flags)
		}
		arns = append(arns, "arn:aws:appconfig:REGION:ACCOUNT_ID:application/"+placeholder(app)+"/environment/"+placeholder(env)+"/configuration/"+placeholder(prof))
		prefetch = append(prefetch, p.application+":"+p.environment+":"+p.profile)
	}
	for profile := range d.flags {
		if !slices.ContainsFunc(d.appconfig, func(p profileDecl) bool { return p.profile == profile }) {
			t.Errorf("main.go reads flags of %q, which no mw.WithAppConfig declares by that name", profile)
		}
	}
	// An environment takes one deployment at a time (StartDeployment's
	// ConflictException): CloudFormation must make them one after the other
	// (aws/aws-cdk#29345 chains them so).
	for env, deps := range byEnv {
		chained := 0
		for _, dep := range deps {
			for _, on := range list(get(resources[dep], "DependsOn")) {
				if slices.Contains(deps, on.(string)) {
					chained++
					break
				}
			}
		}
		if chained < len(deps)-1 {
			t.Errorf("deployments %v to %s are not chained with DependsOn: AppConfig takes one at a time", deps, env)
		}
	}
	if list, ok := get(fn, "Properties", "Environment", "Variables", "AWS_APPCONFIG_EXTENSION_PREFETCH_LIST").(string); ok {
		if got := sorted(strings.Split(list, ",")); !slices.Equal(got, sorted(prefetch)) {
			t.Errorf("AWS_APPCONFIG_EXTENSION_PREFETCH_LIST = %v, want the declared profiles by the names mw asks with: %v", got, sorted(prefetch))
		}
	}
	return arns
}

// checkFlags checks that a profile main.go reads flags of is of feature
// flags, and that its hosted version (AppConfig's stored form, the
// AWS.AppConfig.FeatureFlags type reference) defines and values each flag.
func checkFlags(t *testing.T, what string, typ, content any, flags []string) {
	t.Helper()
	if typ != "AWS.AppConfig.FeatureFlags" {
		t.Errorf("%s: main.go reads feature flags of it, but its Type is %v", what, typ)
		return
	}
	var doc struct {
		Version string                     `json:"version"`
		Flags   map[string]json.RawMessage `json:"flags"`
		Values  map[string]json.RawMessage `json:"values"`
	}
	s, _ := content.(string)
	if err := json.Unmarshal([]byte(s), &doc); err != nil || doc.Version != "1" {
		t.Errorf("%s: its hosted Content is not AppConfig's feature flags (version \"1\"): %v", what, err)
		return
	}
	for _, f := range flags {
		if doc.Flags[f] == nil || doc.Values[f] == nil {
			t.Errorf("%s: main.go reads flag %q, which its hosted Content does not define and value", what, f)
		}
	}
}
