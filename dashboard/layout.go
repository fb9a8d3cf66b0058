package dashboard

import (
	"fmt"
	"math"
	"time"

	"github.com/tandemauth/tandem/devices"
)

// pageView is everything the template draws; the geometry is computed
// here, so the template only places shapes.
type pageView struct {
	Nonce, Path, Today string
	From, To           string
	Note, Error        string

	Identities int64
	PhoneShare float64 // with a passkey on a phone (alone or with a local one)
	BothShare  float64 // phone and a local passkey
	NoneShare  float64
	SignIns    int64
	CDAShare   float64 // sign-ins through the phone among passkey sign-ins on desktops

	Adoption  Chart
	SignInsBy Chart
	Funnel    []Bar
	Prompts   []PromptRow
	Rows      []Bar
}

// Chart is a stacked column chart, one column per day.
type Chart struct {
	Title, Desc   string
	Width, Height int
	PlotTop       int
	PlotBottom    int
	PlotLeft      int
	PlotRight     int
	Columns       []Column
	YTicks        []Tick
	XTicks        []Tick
	Legend        []Legend
	Empty         bool
}

// Column is one day's stack.
type Column struct {
	X, W float64
	Segs []Seg
}

// Seg is one part of a stack.
type Seg struct {
	Y, H  float64
	Class string
	Title string
}

// Tick is an axis label at a position.
type Tick struct {
	Pos   float64
	Label string
}

// Legend names a colour.
type Legend struct{ Class, Label string }

// Bar is a labelled horizontal bar.
type Bar struct {
	Label  string
	Value  int64
	Detail string
	Width  float64 // 0..barMax px
	Class  string
}

// PromptRow is one prompt's answers.
type PromptRow struct {
	Prompt                             string
	Shown, Accepted, Snoozed, Refused  int64
	Acceptance                         float64
	AcceptedW, SnoozedW, RefusedW, Max float64
}

const (
	chartW, chartH     = 760, 230
	plotL, plotR       = 52, 12
	plotT, plotB       = 10, 30
	barMax             = 420.0
	promptBarMax       = 360.0
	maxXTicks          = 8
	adoptionClassPrefx = "c-"
)

var classLabels = map[devices.AdoptionClass]string{
	devices.AdoptPhoneOnly:     "Phone passkey",
	devices.AdoptPhoneAndLocal: "Phone + this computer",
	devices.AdoptLocalOnly:     "Computer only",
	devices.AdoptOther:         "Security key / other",
	devices.AdoptNone:          "No passkey",
}

var wayLabels = map[devices.Way]string{
	devices.WayPhone:       "Through the phone",
	devices.WayThisDevice:  "Passkey on this device",
	devices.WaySecurityKey: "Security key",
	devices.WayPasskey:     "Passkey (unreported)",
	devices.WayPassword:    "Password",
	devices.WayCode:        "E-mail code",
	devices.WaySocial:      "Social",
	devices.WayOther:       "Other",
}

var rowLabels = map[devices.PlanRow]string{
	devices.RowLocalAutofill:     "1 · local passkey, autofill",
	devices.RowLocalNoAutofill:   "2 · local passkey, no autofill",
	devices.RowNoLocalAutofill:   "3 · passkey-ready, autofill",
	devices.RowNoLocalNoAutofill: "4 · passkey-ready, no autofill",
	devices.RowNotPasskeyReady:   "5 · not passkey-ready",
	devices.RowNoWebAuthn:        "6 · no WebAuthn / hybrid",
	devices.RowMobile:            "Phone or tablet",
	devices.RowUnknown:           "Not reported",
}

// layoutAdoption draws the identities per class at the end of each day:
// the latest snapshot on or before the day (today: the live counts).
func layoutAdoption(v *pageView, days []time.Time, hist []devices.AdoptionDay, now devices.Adoption, today time.Time) {
	v.Identities = now.Total()
	if t := float64(v.Identities); t > 0 {
		v.PhoneShare = float64(now[devices.AdoptPhoneOnly]+now[devices.AdoptPhoneAndLocal]) / t
		v.BothShare = float64(now[devices.AdoptPhoneAndLocal]) / t
		v.NoneShare = float64(now[devices.AdoptNone]) / t
	}
	classes := devices.AdoptionClasses()
	series := make([][]float64, len(classes))
	current := map[devices.AdoptionClass]int64{}
	known := false
	i := 0
	for di, day := range days {
		for i < len(hist) && !hist[i].Day.After(day) {
			current[hist[i].Class] = hist[i].Identities
			known = true
			i++
		}
		for ci, c := range classes {
			if len(series[ci]) == 0 {
				series[ci] = make([]float64, len(days))
			}
			switch {
			case day.Equal(today):
				series[ci][di] = float64(now[c])
			case known:
				series[ci][di] = float64(current[c])
			}
		}
	}
	var legend []Legend
	var names []string
	for _, c := range classes {
		legend = append(legend, Legend{Class: adoptionClassPrefx + string(c), Label: classLabels[c]})
		names = append(names, string(c))
	}
	v.Adoption = stacked("Passkey adoption", "Identities by the passkeys they hold, at the end of each day", days, series, legend, names, "identities")
}

// layoutCounts draws sign-ins by way per day, the funnel, the prompts and
// the plan rows from the range's tallies.
func layoutCounts(v *pageView, days []time.Time, counts []devices.DailyCount) {
	index := map[time.Time]int{}
	for i, d := range days {
		index[d] = i
	}
	ways := devices.Ways()
	wayIndex := map[string]int{}
	for i, w := range ways {
		wayIndex[string(w)] = i
	}
	byWay := make([][]float64, len(ways))
	for i := range byWay {
		byWay[i] = make([]float64, len(days))
	}
	signups := map[string]int64{}
	signinWays := map[string]int64{}
	rows := map[string]int64{}
	rowPhone := map[string]int64{}
	prompts := map[string]map[string]int64{}
	added := map[string]int64{}
	for _, c := range counts {
		switch c.Series {
		case devices.SeriesSignIn:
			if w, ok := wayIndex[c.B]; ok {
				if d, ok := index[c.Day]; ok {
					byWay[w][d] += float64(c.N)
				}
			}
			signinWays[c.B] += c.N
			rows[c.A] += c.N
			if c.B == string(devices.WayPhone) {
				rowPhone[c.A] += c.N
			}
			v.SignIns += c.N
		case devices.SeriesSignUp:
			signups[c.A] += c.N
		case devices.SeriesPrompt:
			if prompts[c.A] == nil {
				prompts[c.A] = map[string]int64{}
			}
			prompts[c.A][c.B] += c.N
		case devices.SeriesPasskeyAdded:
			added[c.A] += c.N
		}
	}
	var legend []Legend
	var names []string
	for _, w := range ways {
		legend = append(legend, Legend{Class: "w-" + string(w), Label: wayLabels[w]})
		names = append(names, string(w))
	}
	v.SignInsBy = stacked("Sign-ins by method", "Sign-ins per day, by how they happened", days, byWay, legend, names, "sign-ins")
	passkeySignIns := signinWays[string(devices.WayPhone)] + signinWays[string(devices.WayThisDevice)] + signinWays[string(devices.WaySecurityKey)]
	if passkeySignIns > 0 {
		v.CDAShare = float64(signinWays[string(devices.WayPhone)]) / float64(passkeySignIns)
	}

	// The CDA funnel: how people arrive, and how far phone-first takes them.
	var totalSignups int64
	for _, n := range signups {
		totalSignups += n
	}
	post := prompts[string(devices.PromptPostCDA)]
	funnel := []Bar{
		{Label: "Sign-ups", Value: totalSignups, Class: "f-all"},
		{Label: "… with a passkey on a phone", Value: signups[string(devices.PlacePhone)], Class: "c-phone_only"},
		{Label: "… with a passkey on the computer", Value: signups[string(devices.PlaceThisDevice)], Class: "c-local_only"},
		{Label: "… with a password or code", Value: signups[string(devices.PlaceNone)], Class: "c-none"},
		{Label: "Sign-ins through the phone", Value: signinWays[string(devices.WayPhone)], Class: "w-phone"},
		{Label: "“Sign in faster on this computer” shown", Value: post[string(devices.AnswerShown)], Class: "p-shown"},
		{Label: "… accepted", Value: post[string(devices.AnswerAccepted)], Class: "p-accepted"},
		{Label: "Passkeys added on computers", Value: added[string(devices.PlaceThisDevice)], Class: "c-phone_and_local"},
	}
	scaleBars(funnel, barMax)
	v.Funnel = funnel

	for _, p := range []devices.PromptKind{devices.PromptPostCDA, devices.PromptUpgrade} {
		a := prompts[string(p)]
		row := PromptRow{Prompt: map[devices.PromptKind]string{devices.PromptPostCDA: "Sign in faster on this computer (post-CDA)",
			devices.PromptUpgrade: "Sign in with your phone next time (upgrade)"}[p],
			Shown: a[string(devices.AnswerShown)], Accepted: a[string(devices.AnswerAccepted)],
			Snoozed: a[string(devices.AnswerSnoozed)], Refused: a[string(devices.AnswerRefused)], Max: promptBarMax}
		if row.Shown > 0 {
			row.Acceptance = float64(row.Accepted) / float64(row.Shown)
			unit := promptBarMax / float64(row.Shown)
			row.AcceptedW = math.Min(promptBarMax, float64(row.Accepted)*unit)
			row.SnoozedW = math.Min(promptBarMax-row.AcceptedW, float64(row.Snoozed)*unit)
			row.RefusedW = math.Min(promptBarMax-row.AcceptedW-row.SnoozedW, float64(row.Refused)*unit)
		}
		v.Prompts = append(v.Prompts, row)
	}

	for _, r := range devices.PlanRows() {
		b := Bar{Label: rowLabels[r], Value: rows[string(r)], Class: "w-phone"}
		if b.Value > 0 {
			b.Detail = fmt.Sprintf("%.0f %% through the phone", 100*float64(rowPhone[string(r)])/float64(b.Value))
		}
		v.Rows = append(v.Rows, b)
	}
	scaleBars(v.Rows, barMax)
}

func scaleBars(bars []Bar, max float64) {
	var top int64
	for _, b := range bars {
		top = int64(math.Max(float64(top), float64(b.Value)))
	}
	for i := range bars {
		if top > 0 {
			bars[i].Width = max * float64(bars[i].Value) / float64(top)
		}
	}
}

// stacked lays out one column per day, each stacking series[i][day].
func stacked(title, desc string, days []time.Time, series [][]float64, legend []Legend, names []string, unit string) Chart {
	c := Chart{Title: title, Desc: desc, Width: chartW, Height: chartH, PlotTop: plotT, PlotBottom: chartH - plotB,
		PlotLeft: plotL, PlotRight: chartW - plotR, Legend: legend}
	var top float64
	for d := range days {
		var sum float64
		for s := range series {
			sum += series[s][d]
		}
		top = math.Max(top, sum)
	}
	c.Empty = top == 0
	top = niceCeil(top)
	plotH := float64(c.PlotBottom - c.PlotTop)
	step := float64(c.PlotRight-c.PlotLeft) / float64(len(days))
	w := math.Max(1, step*0.75)
	if step < 3 {
		w = step // a year of days: columns touch
	}
	for d, day := range days {
		col := Column{X: float64(c.PlotLeft) + float64(d)*step + (step-w)/2, W: w}
		y := float64(c.PlotBottom)
		for s := range series {
			val := series[s][d]
			if val <= 0 {
				continue
			}
			h := val / top * plotH
			y -= h
			col.Segs = append(col.Segs, Seg{Y: y, H: h, Class: legend[s].Class,
				Title: fmt.Sprintf("%s · %s: %.0f %s", day.Format("2 Jan 2006"), legend[s].Label, val, unit)})
		}
		_ = names
		c.Columns = append(c.Columns, col)
	}
	for i := 0; i <= 4; i++ {
		val := top * float64(i) / 4
		c.YTicks = append(c.YTicks, Tick{Pos: float64(c.PlotBottom) - plotH*float64(i)/4, Label: formatCount(val)})
	}
	every := (len(days) + maxXTicks - 1) / maxXTicks
	for d := 0; d < len(days); d += every {
		c.XTicks = append(c.XTicks, Tick{Pos: float64(c.PlotLeft) + float64(d)*step + step/2, Label: days[d].Format("2 Jan")})
	}
	return c
}

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten, and
// to at least 4, so that four grid lines fall on whole numbers.
func niceCeil(v float64) float64 {
	if v <= 4 {
		return 4
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func formatCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
