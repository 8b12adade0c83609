// The pickup pages' service worker (registered by js/pickup-offline.js with the scope /courier/pickups/, which
// the portal allows with a Service-Worker-Allowed header). A pickup page: the network first, its last copy when
// there is no signal. The static assets: the kept copy first, refreshed behind it. Scans are not sent from here: the page's queue
// (IndexedDB) sends them when the connection returns. Only GET requests are answered.
var CACHE = "portal-pickup-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(request).then(function (kept) {
        var fresh = fetch(request).then(function (response) {  // refreshes the kept copy for next time
          if (response.ok) cache.put(request, response.clone());
          return response;
        });
        if (kept) { event.waitUntil(fresh.catch(function () {})); return kept; }
        return fresh;
      });
    }));
    return;
  }
  if (request.mode === "navigate" && /^\/courier\/pickups\/\d+\/?$/.test(url.pathname)) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(url.pathname).then(function (kept) { return kept || Response.error(); });
    }));
  }
});
