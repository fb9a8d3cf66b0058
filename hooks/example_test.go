package hooks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
)

// loginCounter is another service's hook Func: it counts logins per
// identity, and refuses the identities it has blocked.
type loginCounter struct {
	mu      sync.Mutex
	flows   map[string]bool // Kratos retries: count each flow once
	logins  map[string]int
	blocked map[string]bool
}

func (c *loginCounter) handle(_ context.Context, d hooks.Delivery) (hooks.Result, error) {
	if d.Point != kratosext.AfterLogin {
		return hooks.Result{}, nil // 204: nothing to do
	}
	p := d.Payload // decoded and validated: flow and identity ids are set
	if c.blocked[p.IdentityID] {
		// 403 with Kratos' messages: the login stops and the user sees
		// the text (the hook needs response.parse: true in kratos.yml).
		m := kratosext.Interrupt(4000001, "This account is suspended.")
		return hooks.Result{Interrupt: &m}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.flows[p.FlowID] {
		c.flows[p.FlowID] = true
		c.logins[p.IdentityID]++
	}
	return hooks.Result{}, nil
}

// A service that counts logins per identity mounts a Receiver and points
// Kratos' after-login web hook at it:
//
//	selfservice.flows.login.after.passkey.hooks:
//	  - hook: web_hook
//	    config:
//	      url: http://127.0.0.1:8080/hooks/after-login?method=passkey
//	      method: POST
//	      body: file:///etc/kratos/body.jsonnet   # renders kratosext.HookPayload
//	      # Authorization is the one header Kratos keeps out of its log.
//	      auth: {type: api_key, config: {name: Authorization, value: "Bearer …", in: header}}
//	      response: {parse: true}
func ExampleNewReceiver() {
	const apiKey = "counter-service-hook-key"
	counter := &loginCounter{flows: map[string]bool{}, logins: map[string]int{},
		blocked: map[string]bool{"b0b00000-0000-4000-8000-000000000000": true}}
	recv, err := hooks.NewReceiver(hooks.ReceiverOptions{APIKeys: []string{apiKey}}, counter.handle)
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/hooks/", recv)

	deliver := func(flowID, identityID, method, key string) {
		body := fmt.Sprintf(`{"flow_id":%q,"flow_active":%q,"identity_id":%q}`, flowID, method, identityID)
		req := httptest.NewRequest(http.MethodPost, "/hooks/after-login?method="+method, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(hooks.KeyHeader, hooks.KeyHeaderValue(key)) // Authorization: Bearer <key>
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-8s %d %s", method, rec.Code, rec.Body.String())))
	}
	const ada, bob = "ada00000-0000-4000-8000-000000000000", "b0b00000-0000-4000-8000-000000000000"
	deliver("f1", ada, "passkey", apiKey)
	deliver("f1", ada, "passkey", apiKey) // Kratos retried the same flow
	deliver("f2", ada, "password", apiKey)
	deliver("f3", bob, "passkey", apiKey)
	deliver("f4", ada, "passkey", "not-the-key")
	fmt.Println("logins:", counter.logins[ada], counter.logins[bob])
	// Output:
	// passkey  204
	// passkey  204
	// password 204
	// passkey  403 {"messages":[{"instance_ptr":"#/","messages":[{"id":4000001,"text":"This account is suspended.","type":"error"}]}]}
	// passkey  401 {"error":{"code":401,"status":"Unauthorized","message":"missing or wrong API key (Authorization: Bearer …)"}}
	// logins: 2 0
}
