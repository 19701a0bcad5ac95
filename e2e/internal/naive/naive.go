// Package naive calls the Parameters and Secrets extension the way the seed
// did: one plain GET, no retry. The seed functions call it during INIT.
package naive

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Result is what one call got. It is the invoke response of the seed
// functions, so the e2e script can assert on it.
type Result struct {
	Phase  string `json:"phase"`            // when the call was made: "init"
	Status int    `json:"status,omitempty"` // HTTP status, 0 if none came back
	Body   string `json:"body,omitempty"`   // the answer's body
	Error  string `json:"error,omitempty"`  // a transport error
}

// GetParameter asks the extension for parameter name, decrypted.
func GetParameter(phase, name string) Result {
	port := cmp.Or(os.Getenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"), "2773")
	u := fmt.Sprintf("http://localhost:%s/systemsmanager/parameters/get?name=%s&withDecryption=true", port, url.QueryEscape(name))
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return Result{Phase: phase, Error: err.Error()}
	}
	req.Header.Set("X-Aws-Parameters-Secrets-Token", os.Getenv("AWS_SESSION_TOKEN"))
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return Result{Phase: phase, Error: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return Result{Phase: phase, Status: resp.StatusCode, Body: string(body)}
}
