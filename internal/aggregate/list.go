package aggregate

// list is a doubly linked list of records threaded through conn.prev and
// conn.next, oldest first. A record is on at most one list at a time: the
// tw list (by expected expiry), the CLOSE_WAIT list (by entry) or the leak
// list (by entry), so one pair of links serves all three and costs nothing
// to move between them.
type list struct{ head, tail uint32 }

func (l *list) pushBack(t *table, id uint32) {
	c := t.at(id)
	c.prev, c.next = l.tail, 0
	if l.tail != 0 {
		t.at(l.tail).next = id
	} else {
		l.head = id
	}
	l.tail = id
}

func (l *list) remove(t *table, id uint32) {
	c := t.at(id)
	if c.prev != 0 {
		t.at(c.prev).next = c.next
	} else {
		l.head = c.next
	}
	if c.next != 0 {
		t.at(c.next).prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = 0, 0
}
