package ui

import (
	"context"
	"net/http"
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
	for name, check := range s.readyChecks {
		if err := check(ctx); err != nil {
			s.logger.WarnContext(ctx, "not ready", "check", name, "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "failed": name})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
