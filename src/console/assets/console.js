// Herald console: small progressive enhancements. Every page works without this file; it adds
// the delivery charts (uPlot), shows only the fields of the chosen auth type and login host,
// and asks before destructive actions. Loaded as a file (the CSP allows no inline script).
(function () {
  'use strict';

  var COLORS = { succeeded: '#1b7f3b', retried: '#b25e00', failed: '#c0262d' };
  var LABELS = { succeeded: 'Succeeded', retried: 'Retried', failed: 'Failed' };

  function drawChart(el) {
    if (typeof window.uPlot !== 'function') return;
    var data;
    try {
      data = JSON.parse(el.getAttribute('data-chart'));
    } catch {
      return;
    }
    var outcomes = ['succeeded', 'retried', 'failed'];
    var series = [{}].concat(
      outcomes.map(function (o) {
        return { label: LABELS[o], stroke: COLORS[o], width: 2, points: { show: false } };
      }),
    );
    var columns = [
      data.minutes.map(function (m) {
        return m / 1000;
      }),
    ].concat(
      outcomes.map(function (o) {
        return data.counts[o];
      }),
    );
    el.textContent = '';
    var width = Math.max(280, el.clientWidth || 600);
    var plot = new window.uPlot(
      {
        width: width,
        height: 200,
        series: series,
        axes: [{}, { label: 'per minute' }],
        scales: { y: { range: [0, null] } },
        legend: { live: false },
      },
      columns,
      el,
    );
    window.addEventListener('resize', function () {
      plot.setSize({ width: Math.max(280, el.clientWidth || 600), height: 200 });
    });
  }

  /** Shows the fieldsets of the chosen option, hides the others (all show without script). */
  function toggleSections(select) {
    var group = select.getAttribute('data-toggles');
    function apply() {
      var sections = document.querySelectorAll('[data-section-of="' + group + '"]');
      for (var i = 0; i < sections.length; i++) {
        var values = sections[i].getAttribute('data-section').split(' ');
        sections[i].hidden = values.indexOf(select.value) === -1;
      }
    }
    select.addEventListener('change', apply);
    apply();
  }

  function confirmations() {
    document.addEventListener('submit', function (event) {
      var form = event.target;
      var question = form && form.getAttribute && form.getAttribute('data-confirm');
      if (question && !window.confirm(question)) event.preventDefault();
    });
  }

  function start() {
    var charts = document.querySelectorAll('[data-chart]');
    for (var i = 0; i < charts.length; i++) drawChart(charts[i]);
    var toggles = document.querySelectorAll('select[data-toggles]');
    for (var j = 0; j < toggles.length; j++) toggleSections(toggles[j]);
    confirmations();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
  // Charts in content that htmx swapped in are drawn too.
  document.addEventListener('htmx:afterSwap', function (event) {
    var charts = event.target.querySelectorAll ? event.target.querySelectorAll('[data-chart]') : [];
    for (var i = 0; i < charts.length; i++) drawChart(charts[i]);
  });
})();
