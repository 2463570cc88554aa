-- Helper module loaded by wimsy-testkit into its private Prosody instances.
--
-- 1. Logs a fixed line once the server has fully started (every host and
--    module loaded, listeners open), so the harness knows it is ready.
-- 2. Watchdog: if the test process that spawned this server goes away
--    (killed by a timeout, aborted, ...) without stopping it, the server
--    is reparented; we notice within a second and shut down, so no stray
--    servers are left behind.
module:set_global();

local function parent_pid()
	local f = io.open("/proc/self/stat", "r");
	if not f then return nil; end
	local stat = f:read("*a");
	f:close();
	if not stat then return nil; end
	-- "pid (comm) state ppid ..."; %b() copes with odd process names.
	return tonumber(stat:match("^%d+ %b() %S+ (%d+)"));
end

local initial_parent = parent_pid();

module:hook("server-started", function ()
	module:log("info", "wimsy-testkit: server started (parent %s)", tostring(initial_parent));
end);

if initial_parent and initial_parent > 1 and module:get_option_boolean("wimsy_testkit_watchdog", true) then
	module:add_timer(1, function ()
		local now = parent_pid();
		if now and now ~= initial_parent then
			module:log("warn", "wimsy-testkit: parent process %d is gone, shutting down", initial_parent);
			-- Same as mod_posix does for SIGTERM: shutdown must run in the
			-- main async thread.
			prosody.main_thread:run(function ()
				prosody.unlock_globals();
				prosody.shutdown("wimsy-testkit: parent process gone", 1);
				prosody.lock_globals();
			end);
			return nil;
		end
		return 1;
	end);
end
