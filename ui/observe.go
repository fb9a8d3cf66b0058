package ui

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
)

// observationTTL outlives Kratos' flow lifespan (30 min in kratos.yml): an
// observation is useless once its flow has expired.
const observationTTL = 35 * time.Minute

// maxObserveBody bounds /api/observe: a report is a few hundred bytes.
const maxObserveBody = 8 << 10

type observeRequest struct {
	FlowID string          `json:"flow_id"`
	Report json.RawMessage `json:"report"`
}

// handleObserve stores what the browser reported about a ceremony, keyed
// by the flow and this device, for the web hook to join. It is same-origin
// only: the Origin must be the UI's, and cross-site fetches are refused
// before anything is read.
func (s *Server) handleObserve(c *gin.Context) {
	if !s.sameOrigin(c) {
		return
	}
	// The device must be one this UI issued: a report under any other id
	// could never be joined, and must not fill the store.
	device, ok := s.requestDevice(c)
	if !ok {
		return
	}
	if !s.limiter.allow(device) {
		c.Header("Retry-After", "60")
		apiError(c, http.StatusTooManyRequests, "too many reports from this device; try again in a minute")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxObserveBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(c, http.StatusRequestEntityTooLarge, "the report is too large")
			return
		}
		apiError(c, http.StatusBadRequest, "could not read the body")
		return
	}
	var req observeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(c, http.StatusBadRequest, "the body is not a JSON object with flow_id and report")
		return
	}
	if !flowID.MatchString(req.FlowID) {
		apiError(c, http.StatusBadRequest, "flow_id must be a Kratos flow id")
		return
	}
	rep, err := browser.DecodeReport(req.Report)
	if err != nil {
		apiError(c, http.StatusBadRequest, "report: "+err.Error())
		return
	}
	// Only the fields Tandem reads are kept, whatever else was sent.
	data, err := rep.Encode()
	if err != nil {
		apiError(c, http.StatusBadRequest, "report: "+err.Error())
		return
	}
	err = s.store.PutObservation(c.Request.Context(), devices.Observation{
		FlowID:    req.FlowID,
		DeviceID:  device,
		Data:      data,
		ExpiresAt: s.now().Add(observationTTL),
	})
	if err != nil {
		s.logger.ErrorContext(c.Request.Context(), "store observation", "flow_id", req.FlowID, "err", err)
		apiError(c, http.StatusServiceUnavailable, "could not store the report; the sign-in goes on without it")
		return
	}
	c.Status(http.StatusNoContent)
}

func apiError(c *gin.Context, status int, msg string) {
	c.Header("Cache-Control", "no-store")
	c.JSON(status, gin.H{"error": gin.H{"code": status, "status": http.StatusText(status), "message": msg}})
}

// rateLimiter allows each key a fixed number of events per minute. Windows
// are fixed and the table is dropped each minute, so memory stays bounded
// by the number of devices seen in one minute.
type rateLimiter struct {
	perMinute int
	now       func() time.Time

	mu     sync.Mutex
	window int64
	counts map[string]int
}

func newRateLimiter(perMinute int, now func() time.Time) *rateLimiter {
	return &rateLimiter{perMinute: perMinute, now: now, counts: map[string]int{}}
}

func (l *rateLimiter) allow(key string) bool {
	w := l.now().Unix() / 60
	l.mu.Lock()
	defer l.mu.Unlock()
	if w != l.window {
		l.window = w
		clear(l.counts)
	}
	if l.counts[key] >= l.perMinute {
		return false
	}
	l.counts[key]++
	return true
}

// originOf is scheme://host of a URL string.
func originOf(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return raw[:i+3] + rest
}
