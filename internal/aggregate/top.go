package aggregate

// insertTop adds v to top, a list of at most n items kept best first by
// better, and returns the list. Ranking a map this way costs O(len × n)
// without materialising or sorting the whole map.
func insertTop[T any](top []T, n int, v T, better func(a, b *T) bool) []T {
	i := len(top)
	for i > 0 && better(&v, &top[i-1]) {
		i--
	}
	if i >= n {
		return top
	}
	if len(top) < n {
		top = append(top, v)
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = v
	return top
}
