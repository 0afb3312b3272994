// Maps of /map/ and /staff/map/: our own layers as vector tiles (PostGIS ST_AsMVT), no
// internet tile server. Configuration comes from the page's JSON block (CSP: no inline JS).
(function () {
  "use strict";

  function pathStyle(style, kind) {
    var out = {
      color: style.color || "#555",
      weight: style.weight === undefined ? 1 : style.weight,
      opacity: style.opacity === undefined ? 1 : style.opacity,
      fill: style.fill === undefined ? kind !== "roads" && kind.indexOf("pipes") < 0 : style.fill,
      fillColor: style.fillColor || style.color || "#999",
      fillOpacity: style.fillOpacity === undefined ? 0.2 : style.fillOpacity,
      radius: style.radius || 6,
    };
    if (style.dashArray) {
      out.dashArray = style.dashArray;
    }
    return out;
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function showCalendar(target, district, i18n) {
    var section = el("section", null, "district-result");
    section.appendChild(el("h2", i18n.district + "：" + district.name, "district-name"));
    var list = el("ul", null, "next-days");
    // The pages' own style (cityhall readable.day_short): 12月3日（木） / Thu, Dec 3.
    var english = document.documentElement.lang === "en";
    var englishDay = new Intl.DateTimeFormat("en-US", { weekday: "short", month: "short", day: "numeric" });
    district.calendar.forEach(function (row) {
      var days = row.next.map(function (iso) {
        var d = new Date(iso + "T00:00:00");
        if (english) {
          return englishDay.format(d);
        }
        return (d.getMonth() + 1) + "月" + d.getDate() + "日（" + "日月火水木金土".charAt(d.getDay()) + "）";
      });
      list.appendChild(el("li", row.label + "（" + (row.rule_text || row.rule) + "）" + i18n.next + "：" + days.join(i18n.sep || "、")));
    });
    section.appendChild(list);
    section.appendChild(el("p", i18n.yearend, "year-end-note"));
    target.appendChild(section);
  }

  // Names of districts and facilities written on the map, shown with their layer.
  function labelLayers(config) {
    var groups = {};
    (config.labels || []).forEach(function (item) {
      if (!groups[item.layer]) {
        groups[item.layer] = L.layerGroup();
      }
      var text = el("span", item.name);
      L.tooltip({
        permanent: true,
        interactive: false,
        direction: item.kind === "facilities" ? "right" : "center",
        offset: item.kind === "facilities" ? [8, 0] : [0, 0],
        className: "map-label map-label-" + item.kind,
      }).setLatLng([item.lat, item.lon]).setContent(text).addTo(groups[item.layer]);
    });
    return groups;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("map");
    if (!container || !window.L || !L.vectorGrid) {
      return;
    }
    // Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop, which Leaflet 1.8 removed.
    if (!L.DomEvent.fakeStop) {
      L.DomEvent.fakeStop = L.DomEvent.stopPropagation;
    }
    var config = JSON.parse(document.getElementById("map-config").textContent);
    var i18n = document.getElementById("map-i18n").dataset;
    var result = document.getElementById("map-result");
    var map = L.map(container, { maxZoom: 20 });
    map.attributionControl.setPrefix(false);
    map.fitBounds(config.bounds);
    container.setAttribute("data-ready", "1");

    var layers = {};
    var labels = labelLayers(config);
    // Facility names only once the map is close enough for them not to pile up.
    function detailLabels() {
      container.classList.toggle("map-labels-detail", map.getZoom() >= 14);
    }
    map.on("zoomend", detailLabels);
    detailLabels();
    config.layers.forEach(function (layer) {
      var styles = {};
      styles[layer.slug] = pathStyle(layer.style || {}, layer.kind);
      var grid = L.vectorGrid.protobuf(layer.tiles, {
        rendererFactory: L.canvas.tile,
        vectorTileLayerStyles: styles,
        interactive: false,
        maxNativeZoom: 20,
        maxZoom: 20,
        attribution: layer.style && layer.style.basemap ? "Machiba" : "",
      });
      layers[layer.slug] = grid;
      if (!(layer.style && layer.style.hidden)) {
        grid.addTo(map);
        if (labels[layer.slug]) {
          labels[layer.slug].addTo(map);
        }
      }
    });
    document.querySelectorAll("input[data-layer]").forEach(function (box) {
      box.addEventListener("change", function () {
        var slug = box.getAttribute("data-layer");
        [layers[slug], labels[slug]].forEach(function (item) {
          if (!item) {
            return;
          }
          if (box.checked) {
            item.addTo(map);
          } else {
            map.removeLayer(item);
          }
        });
      });
    });

    // Markers never take clicks: a click on or near one is a click on the map there.
    if (config.home) {
      L.circleMarker([config.home.lat, config.home.lon], {
        radius: 9, color: "#ffffff", weight: 3, fillColor: "#1b5e20", fillOpacity: 1, interactive: false,
      }).bindTooltip(el("span", i18n.home), { permanent: true, direction: "top", offset: [0, -8], className: "map-label map-label-home" })
        .addTo(map);
    }

    var marker = null;
    function mark(latlng) {
      if (marker) {
        map.removeLayer(marker);
      }
      marker = L.circleMarker(latlng, { radius: 8, color: "#c00", weight: 3, fillOpacity: 0.4, interactive: false }).addTo(map);
    }

    // The parcel a clerk clicked, outlined over the tiles (its GeoJSON comes with the fragment).
    var highlight = null;
    function highlightParcel() {
      if (highlight) {
        map.removeLayer(highlight);
        highlight = null;
      }
      var record = result.querySelector("[data-geometry]");
      if (!record) {
        return;
      }
      highlight = L.geoJSON(JSON.parse(record.getAttribute("data-geometry")), {
        style: { color: "#ff6f00", weight: 4, fillColor: "#ff6f00", fillOpacity: 0.3 },
        interactive: false,
      }).addTo(map);
      container.setAttribute("data-highlighted", record.getAttribute("data-parcel"));
    }

    map.on("click", function (event) {
      var url = config.pointUrl + "?lon=" + event.latlng.lng.toFixed(8) + "&lat=" + event.latlng.lat.toFixed(8);
      mark(event.latlng);
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (config.mode === "staff") {
          return response.text().then(function (html) {
            result.innerHTML = html; // server-rendered, escaped by Django templates
            highlightParcel();
          });
        }
        return response.json().then(function (features) {
          result.textContent = "";
          result.appendChild(el("h2", i18n.here));
          var list = el("ul");
          features.forEach(function (f) {
            list.appendChild(el("li", f.attributes.name ? f.layer_name + "：" + f.attributes.name : f.layer_name));
          });
          if (!features.length) {
            list.appendChild(el("li", i18n.nothing));
          }
          result.appendChild(list);
        });
      });
    });

    var form = document.getElementById("address-search");
    var error = document.getElementById("address-error");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var address = form.querySelector("input[name=address]").value;
        error.hidden = true;
        fetch(config.geocodeUrl + "?address=" + encodeURIComponent(address), { credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) {
              error.textContent = i18n.notfound;
              error.hidden = false;
              return null;
            }
            return response.json();
          })
          .then(function (found) {
            if (!found) {
              return;
            }
            var latlng = L.latLng(found.lat, found.lon);
            mark(latlng);
            map.setView(latlng, 17);
            result.textContent = "";
            result.appendChild(el("h2", found.address_key, "found-address"));
            if (config.mode === "staff" && found.parcel_key) {
              result.appendChild(el("p", i18n.parcel + "：" + found.parcel_key));
            }
            if (found.garbage_district) {
              showCalendar(result, found.garbage_district, i18n);
            }
          });
      });
    }
  });
})();
