package metrics_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metricsql"
	dto "github.com/prometheus/client_model/go"

	"github.com/tandemauth/tandem/metrics"
)

// exported maps every series name a scrape of Tandem holds (histograms'
// _bucket, _sum and _count included) to its label names.
func exported(t *testing.T) map[string][]string {
	t.Helper()
	store, _ := mustStore(t)
	m, err := metrics.New(metrics.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	// Touch every vector once, so that each family appears in the scrape
	// with its labels.
	m.ObserveHook("after-login", "passkey", "recorded", 0)
	m.Gin("ui")
	fams := scrape(t, m)
	touchVectors(t, m, fams)
	fams = scrape(t, m)
	out := map[string][]string{}
	for name, f := range fams {
		var labels []string
		for _, s := range f.Metric {
			for _, l := range s.Label {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
		}
		if f.GetType() == dto.MetricType_HISTOGRAM {
			out[name+"_bucket"] = append(slices.Clone(labels), "le")
			out[name+"_sum"], out[name+"_count"] = labels, labels
			continue
		}
		out[name] = labels
	}
	return out
}

// dashboardExprs returns every query expression of the Grafana dashboard.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("grafana/tandem.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("grafana/tandem.json: %v", err)
	}
	var exprs []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	return exprs
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// TestGrafanaDashboard parses every expression of the shipped Grafana
// dashboard and checks that each metric it selects is one Tandem exports,
// with labels that metric has.
func TestGrafanaDashboard(t *testing.T) {
	families := exported(t)
	exprs := dashboardExprs(t)
	if len(exprs) < 20 {
		t.Fatalf("the dashboard has %d expressions", len(exprs))
	}
	// Prometheus adds these at scrape time.
	scrapeLabels := []string{"job", "instance"}
	grafanaVars := strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m")
	used := map[string]bool{}
	for _, e := range exprs {
		parsed, err := metricsql.Parse(grafanaVars.Replace(e))
		if err != nil {
			t.Errorf("%s: %v", e, err)
			continue
		}
		var names []string
		var groupBy []string
		metricsql.VisitAll(parsed, func(x metricsql.Expr) {
			switch x := x.(type) {
			case *metricsql.MetricExpr:
				for _, lfs := range x.LabelFilterss {
					name := ""
					for _, lf := range lfs {
						if lf.Label == "__name__" {
							name = lf.Value
						}
					}
					labels, ok := families[name]
					if !ok {
						t.Errorf("%s: selects %q, which Tandem does not export", e, name)
						continue
					}
					names = append(names, name)
					used[name] = true
					for _, lf := range lfs {
						if lf.Label != "__name__" && !slices.Contains(labels, lf.Label) && !slices.Contains(scrapeLabels, lf.Label) {
							t.Errorf("%s: filters %s on label %q, which it does not have (%v)", e, name, lf.Label, labels)
						}
					}
				}
			case *metricsql.AggrFuncExpr:
				groupBy = append(groupBy, x.Modifier.Args...)
			}
		})
		if len(names) == 0 {
			t.Errorf("%s selects no metric", e)
		}
		for _, l := range groupBy {
			found := slices.Contains(scrapeLabels, l)
			for _, n := range names {
				found = found || slices.Contains(families[n], l)
			}
			if !found {
				t.Errorf("%s: groups by %q, which none of %v has", e, l, names)
			}
		}
	}
	// Every funnel and adoption metric is on the dashboard.
	for _, n := range []string{metrics.NameIdentities, metrics.NameSignUps, metrics.NameSignIns, metrics.NamePrompts,
		metrics.NamePasskeysAdded, metrics.NamePasskeysRemoved, metrics.NameHookDeliveries} {
		if !used[n] {
			t.Errorf("the dashboard does not show %s", n)
		}
	}
}
