// Command argojson reads JSON bodies as Argo Server does: Go's own encoding/json (json.Unmarshal, which Argo's
// grpc-gateway marshaler calls, argo-workflows util/json/json.go), into structs shaped like Argo's request types
// (pkg/apiclient/*/*.pb.go: the JSON names of the fields below are theirs). The tests
// (test/node/argoGoJson.test.ts) hold the gateway's JavaScript model of that reading to this program.
//
// Modes:
//
//	argojson bodies   stdin: a JSON array of strings (bodies); stdout: for each, what Go read (or its error)
//	argojson fold     stdout: for each code point that Go matches to an ASCII letter field, "<cp> <letter>"
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"unicode/utf8"
)

// ObjectMeta is the part of k8s.io/apimachinery meta/v1 ObjectMeta a namespace decision reads.
type ObjectMeta struct {
	Name         string            `json:"name,omitempty"`
	GenerateName string            `json:"generateName,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
}

// Spec holds a few of WorkflowSpec's number fields (int64 in Argo), to see how numbers arrive.
type Spec struct {
	ActiveDeadlineSeconds *int64   `json:"activeDeadlineSeconds,omitempty"`
	Parallelism           *int64   `json:"parallelism,omitempty"`
	Priority              *int32   `json:"priority,omitempty"`
	Entrypoint            string   `json:"entrypoint,omitempty"`
	Ratio                 *float64 `json:"ratio,omitempty"`
}

// Object is a Workflow, WorkflowTemplate, CronWorkflow, Sensor or EventSource as far as its namespace goes.
type Object struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     *Spec      `json:"spec,omitempty"`
}

// SubmitOpts is v1alpha1.SubmitOpts (the part a submit from a template carries).
type SubmitOpts struct {
	Name           string   `json:"name,omitempty"`
	GenerateName   string   `json:"generateName,omitempty"`
	ServiceAccount string   `json:"serviceAccount,omitempty"`
	Parameters     []string `json:"parameters,omitempty"`
	Labels         string   `json:"labels,omitempty"`
}

// Request is the union of the request bodies the gateway checks a namespace in: WorkflowCreateRequest,
// WorkflowSubmitRequest, WorkflowResubmitRequest, ResubmitArchivedWorkflowRequest, RetryArchivedWorkflowRequest,
// WorkflowTemplateCreateRequest, CreateCronWorkflowRequest, their updates (by name) and Sensor/EventSource creates.
type Request struct {
	Namespace        string      `json:"namespace,omitempty"`
	Name             string      `json:"name,omitempty"`
	UID              string      `json:"uid,omitempty"`
	Memoized         bool        `json:"memoized,omitempty"`
	Parameters       []string    `json:"parameters,omitempty"`
	Workflow         *Object     `json:"workflow,omitempty"`
	Template         *Object     `json:"template,omitempty"`
	CronWorkflow     *Object     `json:"cronWorkflow,omitempty"`
	Sensor           *Object     `json:"sensor,omitempty"`
	EventSource      *Object     `json:"eventSource,omitempty"`
	ResourceKind     string      `json:"resourceKind,omitempty"`
	ResourceName     string      `json:"resourceName,omitempty"`
	SubmitOptions    *SubmitOpts `json:"submitOptions,omitempty"`
	Metadata         *ObjectMeta `json:"metadata,omitempty"`
	ServerDryRun     bool        `json:"serverDryRun,omitempty"`
	RestartSucessful bool        `json:"restartSuccessful,omitempty"`
}

// Read is what Go made of one body.
type Read struct {
	Error string `json:"error,omitempty"`
	// Namespaces: every namespace the request names, as Go read them (empty ones left out).
	Namespaces []string `json:"namespaces"`
	// Value: the decoded request, re-encoded by Go (to compare two readings).
	Value json.RawMessage `json:"value,omitempty"`
}

func read(body string) Read {
	var r Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return Read{Error: err.Error(), Namespaces: []string{}}
	}
	out := Read{Namespaces: []string{}}
	add := func(ns string) {
		if ns != "" {
			out.Namespaces = append(out.Namespaces, ns)
		}
	}
	add(r.Namespace)
	if r.Metadata != nil {
		add(r.Metadata.Namespace)
	}
	for _, o := range []*Object{r.Workflow, r.Template, r.CronWorkflow, r.Sensor, r.EventSource} {
		if o != nil {
			add(o.Metadata.Namespace)
		}
	}
	value, _ := json.Marshal(r)
	out.Value = value
	return out
}

// fold prints, for every code point, the ASCII letter field json.Unmarshal sets from a key of that one code point.
func fold() {
	fields := make([]reflect.StructField, 0, 26)
	for c := 'a'; c <= 'z'; c++ {
		fields = append(fields, reflect.StructField{
			Name: strings.ToUpper(string(c)),
			Type: reflect.TypeOf(false),
			Tag:  reflect.StructTag(fmt.Sprintf(`json:"%c"`, c)),
		})
	}
	t := reflect.StructOf(fields)
	var b strings.Builder
	for cp := rune(0x80); cp <= utf8.MaxRune; cp++ {
		if !utf8.ValidRune(cp) {
			continue
		}
		key, _ := json.Marshal(string(cp))
		v := reflect.New(t)
		if json.Unmarshal([]byte(`{`+string(key)+`:true}`), v.Interface()) != nil {
			continue
		}
		for i := 0; i < 26; i++ {
			if v.Elem().Field(i).Bool() {
				fmt.Fprintf(&b, "%d %c\n", cp, 'a'+i)
			}
		}
	}
	os.Stdout.WriteString(b.String())
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argojson bodies|fold")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "fold":
		fold()
	case "bodies":
		var bodies []string
		if err := json.NewDecoder(os.Stdin).Decode(&bodies); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		reads := make([]Read, len(bodies))
		for i, body := range bodies {
			reads[i] = read(body)
		}
		if err := json.NewEncoder(os.Stdout).Encode(reads); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: argojson bodies|fold")
		os.Exit(2)
	}
}
