package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// The Lambda Extensions API, as an external extension sees it.
const (
	extAPIVersion    = "2020-01-01"
	headerExtName    = "Lambda-Extension-Name"
	headerExtID      = "Lambda-Extension-Identifier"
	headerErrorType  = "Lambda-Extension-Function-Error-Type"
	eventInvoke      = "INVOKE"
	eventShutdown    = "SHUTDOWN"
	maxEventBodySize = 1 << 20
)

// event is what /extension/event/next returns. Only the fields the emulator
// uses are decoded.
type event struct {
	EventType      string `json:"eventType"`
	RequestID      string `json:"requestId"`
	DeadlineMs     int64  `json:"deadlineMs"`
	ShutdownReason string `json:"shutdownReason"`
}

// extClient talks to the Extensions API at AWS_LAMBDA_RUNTIME_API.
type extClient struct {
	base string // http://host:port/2020-01-01/extension
	hc   *http.Client
	id   string // Lambda-Extension-Identifier, after register
}

func newExtClient(runtimeAPI string, hc *http.Client) *extClient {
	return &extClient{base: "http://" + runtimeAPI + "/" + extAPIVersion + "/extension", hc: hc}
}

// register registers the extension under name for events.
func (c *extClient) register(ctx context.Context, name string, events []string) error {
	body, _ := json.Marshal(map[string][]string{"events": events})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/register", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(headerExtName, name)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	c.id = resp.Header.Get(headerExtID)
	if c.id == "" {
		return fmt.Errorf("register: no %s header in the answer", headerExtID)
	}
	return nil
}

// next blocks until the next event.
func (c *extClient) next(ctx context.Context) (event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/event/next", nil)
	if err != nil {
		return event{}, err
	}
	req.Header.Set(headerExtID, c.id)
	resp, err := c.hc.Do(req)
	if err != nil {
		return event{}, fmt.Errorf("event/next: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxEventBodySize))
	if err != nil {
		return event{}, fmt.Errorf("event/next: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return event{}, fmt.Errorf("event/next: %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return event{}, fmt.Errorf("event/next: bad event: %w", err)
	}
	return ev, nil
}

// initError reports a failed init (path "init/error") or a failure after it
// ("exit/error"), as Lambda wants before the extension exits.
func (c *extClient) reportError(ctx context.Context, path, errorType string, cause error) error {
	body, _ := json.Marshal(map[string]any{"errorMessage": cause.Error(), "errorType": errorType})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(headerExtID, c.id)
	req.Header.Set(headerErrorType, errorType)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return nil
}
