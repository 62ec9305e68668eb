package calendar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const todoText = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20240101T000000Z\r\n" +
	"SUMMARY:File taxes\r\nDTSTART;VALUE=DATE:20240401\r\nDUE;VALUE=DATE:20240415\r\nPRIORITY:1\r\nCLASS:CONFIDENTIAL\r\n" +
	"CATEGORIES:Home\r\nX-APPLE-SORT-ORDER:5\r\nRRULE:FREQ=YEARLY\r\n" +
	"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;VALUE=DATE-TIME:20240414T070000Z\r\nEND:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"

// VTODO <-> Tasks elements ([MS-ASTASK] 2.2.2; fact sheet §6).
func TestTaskToEAS(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	task, err := TaskToEAS([]byte(todoText), EASOptions{Version: V141, UserZone: ber})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"Subject", *task.Subject == "File taxes"},
		{"not Complete", !*task.Complete},
		{"StartDate local midnight labelled Z", task.StartDate.Equal(utc("20240401T000000Z"))},
		{"UtcStartDate", task.UtcStartDate.Equal(utc("20240331T220000Z"))},
		{"DueDate", task.DueDate.Equal(utc("20240415T000000Z"))},
		{"UtcDueDate", task.UtcDueDate.Equal(utc("20240414T220000Z"))},
		{"Importance high", *task.Importance == 2},
		{"Reminder", *task.ReminderSet && task.ReminderTime.Equal(utc("20240414T070000Z"))},
		{"Sensitivity", *task.Sensitivity == 3},
		{"Categories", (*task.Categories)[0] == "Home"},
		{"Recurrence yearly", task.Recurrence != nil && task.Recurrence.Type == 5 && task.Recurrence.MonthOfYear == 4 && task.Recurrence.DayOfMonth == 1},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s wrong: %+v", c.name, task)
		}
	}
	if _, err := TaskToEAS(readCorpus(t, "google_recurring.ics"), EASOptions{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("VEVENT as task: %v", err)
	}
}

func TestMergeTask(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	opts := MergeOptions{EASOptions: EASOptions{Version: V141, UserZone: ber, Now: utc("20240410T100000Z")}}
	task, _ := TaskToEAS([]byte(todoText), opts.EASOptions)
	// Echo: no change at all.
	out, res, err := MergeTask([]byte(todoText), task, opts)
	if err != nil || len(res.Changed) != 0 || string(out) != todoText {
		t.Errorf("echo changed %v %v", res.Changed, err)
	}
	// Complete it, move the due date (a local time now), lower importance, drop the reminder.
	task.Complete = Ptr(true)
	task.DueDate, task.UtcDueDate = Ptr(utc("20240416T170000Z")), Ptr(utc("20240416T150000Z"))
	task.Importance = Ptr(0)
	task.ReminderSet = Ptr(false)
	out, res, err = MergeTask([]byte(todoText), task, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"STATUS:COMPLETED", "COMPLETED:20240410T100000Z", "DUE:20240416T150000Z", "PRIORITY:9", "X-APPLE-SORT-ORDER:5", "RRULE:FREQ=YEARLY"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s\n%s", want, s)
		}
	}
	if strings.Contains(s, "VALARM") {
		t.Error("reminder kept")
	}
	// Add a task with a reminder and a weekly regenerating recurrence.
	add := &EASTask{Subject: Ptr("Water plants"), DueDate: Ptr(utc("20240412T000000Z")), ReminderSet: Ptr(true), ReminderTime: Ptr(utc("20240412T060000Z")),
		Recurrence: &EASRecurrence{Type: 1, DayOfWeek: Friday, Start: utc("20240412T000000Z"), Regenerate: true}}
	out, res, err = MergeTask(nil, add, MergeOptions{EASOptions: opts.EASOptions, NewUID: "task-2"})
	if err != nil {
		t.Fatal(err)
	}
	s = string(out)
	for _, want := range []string{"BEGIN:VTODO", "UID:task-2", "DUE;VALUE=DATE:20240412", "DTSTART;VALUE=DATE:20240412", "RRULE:FREQ=WEEKLY;BYDAY=FR",
		"TRIGGER;VALUE=DATE-TIME:20240412T060000Z", "X-GATEHOUSE-TASK-REGENERATE:TRUE"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s\n%s", want, s)
		}
	}
	back, _ := TaskToEAS(out, opts.EASOptions)
	if !back.Recurrence.Regenerate || back.Recurrence.DayOfWeek != Friday || !back.DueDate.Equal(utc("20240412T000000Z")) {
		t.Errorf("read back %+v", back)
	}
	// Un-complete.
	back.Complete = Ptr(false)
	out, _, _ = MergeTask(out, &EASTask{Complete: Ptr(true)}, opts)
	out, _, _ = MergeTask(out, &EASTask{Complete: Ptr(false)}, opts)
	if strings.Contains(string(out), "COMPLETED") {
		t.Errorf("still completed\n%s", out)
	}
	if _, _, err := MergeTask(nil, &EASTask{Recurrence: &EASRecurrence{Type: 0}}, opts); !errors.Is(err, ErrInvalid) {
		t.Errorf("recurring task without start: %v", err)
	}
	_ = time.UTC
}
