/* mzgis field inspection (routes_field.py): "record my position" with the offset from the marker's
   recorded position, and an offline queue. An inspection that cannot be sent (no link) waits in
   IndexedDB, its photo as a Blob, and is sent when the link returns. Every record carries its
   client_key: the server stores a key once and answers a resent one as a success, so a record
   is never stored twice. A key the server holds for another record (409) is not dropped: the
   record stays in the queue with the server's message and may be sent again as a new record
   (a new key). No framework, no inline script (CSP). */
(function () {
  'use strict';
  var DB = 'mzgis-field', STORE = 'queue', flushing = false;

  function $(id) { return document.getElementById(id); }
  function meta(name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : ''; }
  function token() { return meta('csrf-token'); }
  function mb(n) { return (n / 1048576).toFixed(1) + ' MB'; }
  function newKey() {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  function show(id, text) { var e = $(id); if (e) { e.textContent = text; e.hidden = !text; } }

  // -- the queue (IndexedDB) --------------------------------------------------------------------
  function open() {
    return new Promise(function (ok, fail) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: 'key' }); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
  }
  function tx(mode, fn) {
    return open().then(function (d) {
      return new Promise(function (ok, fail) {
        var t = d.transaction(STORE, mode), req = fn(t.objectStore(STORE));
        t.oncomplete = function () { d.close(); ok(req ? req.result : undefined); };
        t.onerror = t.onabort = function () { d.close(); fail(t.error); };
      });
    });
  }
  function all() { return tx('readonly', function (s) { return s.getAll(); }); }
  function put(item) { return tx('readwrite', function (s) { return s.put(item); }); }
  function drop(key) { return tx('readwrite', function (s) { return s.delete(key); }); }

  function formOf(item) {
    var f = new FormData();
    item.fields.forEach(function (kv) { f.append(kv[0], kv[1]); });
    f.append('csrf_token', token());
    if (item.photo) { f.append('photo', item.photo, item.photoName || 'photo.jpg'); }
    return f;
  }
  function send(item) {
    return fetch('/field/record', { method: 'POST', body: formOf(item), credentials: 'same-origin',
                                    headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.text().then(function (t) {
          var j = null;
          try { j = JSON.parse(t); } catch (e) { j = null; }
          return { status: r.status, body: j, text: t };
        });
      });
  }
  function sent(res) { return res.status === 200 && res.body && res.body.ok; }
  function problem(res) { return (res.body && res.body.error) || res.text.slice(0, 500); }

  function render() {
    var box = $('queue');
    if (!box || !window.indexedDB) { return Promise.resolve(); }
    return all().then(function (items) {
      box.hidden = items.length === 0;
      show('queue-count', String(items.length));
      var list = $('queue-list');
      list.textContent = '';
      items.forEach(function (it) {
        var li = document.createElement('li'), f = {};
        it.fields.forEach(function (kv) { f[kv[0]] = kv[1]; });
        li.textContent = (f.code || '') + ' · ' + (f.date || '') + ' · ' + (f.condition || '') +
          (it.photo ? ' · 照片 photo ' + mb(it.photo.size) : '') +
          (it.user !== meta('mzgis-user') ? ' · 待 ' + it.user + ' 登录后发送 sent when ' + it.user + ' logs in' : '');
        if (it.error) {
          var e = document.createElement('span'), b = document.createElement('button');
          e.className = 'bad';
          e.textContent = it.error;
          b.type = 'button';
          b.textContent = '删除此条 Discard';
          b.addEventListener('click', function () { drop(it.key).then(render); });
          li.appendChild(e);
          if (it.conflict) {
            var n = document.createElement('button');
            n.type = 'button';
            n.textContent = '作为新记录发送 Send as a new record';
            n.addEventListener('click', function () { asNew(it); });
            li.appendChild(n);
          }
          li.appendChild(b);
        }
        list.appendChild(li);
      });
    });
  }

  // a record refused for its key (409: the key is taken): the same record under a new key
  function asNew(it) {
    var old = it.key;
    it.key = newKey();
    it.fields = it.fields.map(function (kv) { return kv[0] === 'client_key' ? [kv[0], it.key] : kv; });
    it.error = '';
    it.conflict = false;
    return put(it).then(function () { return drop(old); }).then(render).then(flush);
  }

  function flush() {
    if (flushing || !window.indexedDB || !navigator.onLine) { return Promise.resolve(); }
    flushing = true;
    show('queue-state', '发送中 sending…');
    return all().then(function (items) {
      var chain = Promise.resolve(), stop = false;
      items.sort(function (a, b) { return a.at < b.at ? -1 : 1; }).forEach(function (it) {
        chain = chain.then(function () {
          // a record waits for the user who made it: it is sent in their name only
          if (stop || it.error || it.user !== meta('mzgis-user')) { return undefined; }
          return send(it).then(function (res) {
            if (sent(res)) { show('status', res.body.message); return drop(it.key); }
            stop = true;
            if (res.status === 401 || res.status === 403) {
              show('queue-state', '请重新登录后发送 log in again to send them: ' + problem(res));
            } else if (res.status < 500 && res.status !== 429) {
              stop = false;  // this record is refused; keep it with the reason, send the others
              it.error = problem(res);
              it.conflict = res.status === 409;  // shown with a button to send it as a new record
              return put(it);
            }
            return undefined;
          }, function () { stop = true; });
        });
      });
      return chain;
    }).then(done, done);
    function done() {
      flushing = false;
      show('queue-state', '');
      return render();
    }
  }

  // -- the marker form ------------------------------------------------------------------------------
  function haversine(lat1, lon1, lat2, lon2) {
    var r = Math.PI / 180, R = 6371008.8;
    var a = Math.pow(Math.sin((lat2 - lat1) * r / 2), 2) +
      Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.pow(Math.sin((lon2 - lon1) * r / 2), 2);
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function setupForm(form) {
    var lon0 = parseFloat(form.dataset.lon), lat0 = parseFloat(form.dataset.lat);
    var max = Number(form.dataset.max), save = $('save'), el = form.elements;

    $('locate').addEventListener('click', function () {
      show('form-error', '');
      if (!navigator.geolocation) { show('form-error', '此设备不能定位 this device cannot give its position'); return; }
      show('offset', '定位中 locating…');
      navigator.geolocation.getCurrentPosition(function (p) {
        var c = p.coords, d = isNaN(lon0) ? null : haversine(lat0, lon0, c.latitude, c.longitude);
        el.lon.value = c.longitude.toFixed(7);
        el.lat.value = c.latitude.toFixed(7);
        el.accuracy.value = c.accuracy ? c.accuracy.toFixed(1) : '';
        $('offset').dataset.m = d === null ? '' : d.toFixed(1);
        show('offset', '我的位置 my position ' + c.longitude.toFixed(6) + ', ' + c.latitude.toFixed(6) +
          (d === null ? '' : ' · 距记录位置 offset from the recorded position ' + d.toFixed(1) + ' m') +
          (c.accuracy ? ' (精度 accuracy ±' + Math.round(c.accuracy) + ' m)' : ''));
      }, function (e) {
        show('offset', '');
        show('form-error', '无法定位 cannot get the position: ' + e.message +
          '（需要 HTTPS 和定位权限 needs HTTPS and the location permission）');
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
    });

    function queue(item) {
      return put(item).then(function () {
        form.reset();
        el.client_key.value = newKey();
        el.lon.value = el.lat.value = el.accuracy.value = '';
        show('offset', '');
        show('status', '已存在本机，联网后自动发送 saved on this phone: it is sent when the link returns');
        save.disabled = false;
        return render();
      }, function (e) {
        save.disabled = false;
        show('form-error', '无法暂存 cannot keep it on this phone: ' + e);
      });
    }

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      show('form-error', '');
      show('status', '');
      var file = el.photo.files[0];
      if (file && file.size > max) {
        show('form-error', '照片太大 the photo is too large (' + mb(file.size) + '); 至多 at most ' + form.dataset.maxText);
        return;
      }
      var item = { key: el.client_key.value, at: new Date().toISOString(), fields: [], error: '', user: meta('mzgis-user'),
                   photo: file || null, photoName: file ? file.name : '' };
      new FormData(form).forEach(function (v, k) {
        if (k !== 'photo' && k !== 'csrf_token') { item.fields.push([k, String(v)]); }
      });
      save.disabled = true;
      if (!navigator.onLine) { queue(item); return; }
      send(item).then(function (res) {
        if (sent(res)) { location.assign(res.body.next); return undefined; }
        if (res.status >= 500 || res.status === 429) { return queue(item); }
        save.disabled = false;  // refused: the form stays as it is (same key) to be corrected
        if (res.status === 409) { el.client_key.value = newKey(); }  // the key is taken: saving again is a new record
        show('form-error', problem(res));
        return undefined;
      }, function () { return queue(item); });
    });
  }

  var form = $('inspect');
  if (form) { setupForm(form); }
  if ($('queue')) {
    $('queue-send').addEventListener('click', flush);
    window.addEventListener('online', flush);
    setInterval(flush, 30000);
    render().then(flush);
  }
}());
