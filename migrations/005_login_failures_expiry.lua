-- Failed-login counters expire: index them by window start so a periodic purge can drop the
-- ones whose window is over without scanning the space.
box.space.kv_login_failures:create_index('window_start', {
    if_not_exists = true, unique = false, parts = {'window_start'},
})
