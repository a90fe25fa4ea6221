package tiles

import (
	"container/list"
	"sync"
	"time"
)

// lru is a least-recently-used cache bounded by the total size of its values, safe for
// concurrent use. A value larger than the whole budget is not kept.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int64
	used  int64
	size  func(V) int64
	ll    *list.List
	items map[K]*list.Element
}

type lruItem[K comparable, V any] struct {
	key  K
	val  V
	size int64
}

func newLRU[K comparable, V any](maxBytes int64, size func(V) int64) *lru[K, V] {
	return &lru[K, V]{max: maxBytes, size: size, ll: list.New(), items: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*lruItem[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	n := c.size(v)
	if c.max <= 0 || n > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		it := e.Value.(*lruItem[K, V])
		c.used += n - it.size
		it.val, it.size = v, n
		c.ll.MoveToFront(e)
	} else {
		c.items[k] = c.ll.PushFront(&lruItem[K, V]{key: k, val: v, size: n})
		c.used += n
	}
	for c.used > c.max {
		e := c.ll.Back()
		it := e.Value.(*lruItem[K, V])
		c.ll.Remove(e)
		delete(c.items, it.key)
		c.used -= it.size
	}
}

// stats returns the number of entries and their total size.
func (c *lru[K, V]) stats() (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.used
}

// ttlMap keeps values for a fixed time, safe for concurrent use: the layer references and
// the legends' compiled colormaps, which must show a change within that time. It is bounded
// crudely: past maxTTLEntries it forgets everything, and refills within one TTL.
type ttlMap[K comparable, V any] struct {
	ttl time.Duration // <= 0: off, every get misses and is not counted
	// name and hit count every lookup (Config.OnCache).
	name string
	hit  func(cache string, hit bool)

	mu sync.Mutex
	m  map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	val V
	at  time.Time
}

const maxTTLEntries = 10000

func newTTLMap[K comparable, V any](ttl time.Duration, name string, hit func(string, bool)) *ttlMap[K, V] {
	return &ttlMap[K, V]{ttl: ttl, name: name, hit: hit, m: map[K]ttlEntry[V]{}}
}

// get returns the value put under k less than the TTL ago.
func (c *ttlMap[K, V]) get(k K) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	ok = ok && time.Since(e.at) < c.ttl
	c.hit(c.name, ok)
	if !ok {
		return zero, false
	}
	return e.val, true
}

// put keeps v under k for the TTL.
func (c *ttlMap[K, V]) put(k K, v V) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > maxTTLEntries {
		clear(c.m)
	}
	c.m[k] = ttlEntry[V]{val: v, at: time.Now()}
}
