package ui

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

func (s *Server) handleAlive(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// handleReady is ready only when Kratos answers (and every extra check the
// server was given, such as the store).
func (s *Server) handleReady(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.kratos.Ready(ctx); err != nil {
		s.logger.WarnContext(ctx, "not ready: kratos", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "failed": "kratos"})
		return
	}
	if s.hydra != nil {
		if err := s.hydra.Ready(ctx); err != nil {
			s.logger.WarnContext(ctx, "not ready: hydra", "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "failed": "hydra"})
			return
		}
	}
	for name, check := range s.readyChecks {
		if err := check(ctx); err != nil {
			s.logger.WarnContext(ctx, "not ready", "check", name, "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "failed": name})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// kratosHealth remembers, for a moment, whether Kratos answers its
// readiness probe. A page that only sends the browser on to Kratos (to
// start a flow) would otherwise send it to a dead Kratos, and the person
// would see the browser's error instead of Tandem's.
type kratosHealth struct {
	probe func(context.Context) error
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	up      bool
	checked time.Time
}

func newKratosHealth(probe func(context.Context) error, ttl time.Duration, now func() time.Time) *kratosHealth {
	return &kratosHealth{probe: probe, ttl: ttl, now: now}
}

// ok reports whether Kratos answered lately, asking it (for at most a
// second) when the last answer is older than ttl. Concurrent callers wait
// for one probe.
func (h *kratosHealth) ok(ctx context.Context) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.checked.IsZero() && h.now().Sub(h.checked) < h.ttl {
		return h.up
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	h.up = h.probe(ctx) == nil
	h.checked = h.now()
	return h.up
}
