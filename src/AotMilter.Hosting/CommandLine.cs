using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using AotMilter.Protocol;
using AotMilter.Server;
using Microsoft.Extensions.Logging;

namespace AotMilter.Hosting;

/// <summary>The command line: options, their validation, and what each invocation runs.</summary>
internal static class CommandLine
{
    public const string DefaultSocket = "unix:/run/aotmilter/aotmilter.sock";

    public static int Run(string[] args, IReadOnlyList<MilterRegistration> filters, MilterHostOptions options)
    {
        string[] defaultFilters = options.DefaultFilters(filters);
        var socket = new Option<string>("--socket", "-p")
        {
            Description = "Where to listen: unix:/path, local:/path, /path, inet:PORT@HOST, inet:PORT, inet6:PORT@HOST",
            DefaultValueFactory = _ => DefaultSocket,
            HelpName = "SPEC",
        };
        socket.Validators.Add(r =>
        {
            if (!SocketSpec.TryParse(r.GetValueOrDefault<string>(), out _, out string? error))
            {
                r.AddError(error);
            }
        });

        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"A filter to run; repeat to chain filters, run in the given order (default: {string.Join(", ", defaultFilters)})",
            HelpName = "NAME",

            // At least one value per -f: the parser then takes the next token as the filter's name even where it
            // is also a subcommand's name (-f bench, beside `aotmilter bench`).
            Arity = ArgumentArity.OneOrMore,
        };
        filter.Validators.Add(r =>
        {
            foreach (string name in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (!filters.Any(f => f.Name == name))
                {
                    r.AddError($"unknown filter '{name}'; available: {string.Join(", ", filters.Select(f => f.Name))}");
                }
            }
        });

        var daemon = new Option<bool>("--daemon", "-D") { Description = "Detach and run in the background once listening" };
        var pidFile = new Option<string?>("--pid-file") { Description = "Write the daemon's process id to this file (removed at exit)", HelpName = "PATH" };
        var socketMode = new Option<string?>("--socket-mode") { Description = "Mode of a unix socket, in octal (default 0660)", HelpName = "MODE" };
        socketMode.Validators.Add(r =>
        {
            string? text = r.GetValueOrDefault<string?>();
            if (text is not null && !TryParseMode(text, out _))
            {
                r.AddError($"--socket-mode '{text}' is not an octal file mode such as 0660");
            }
        });
        var socketGroup = new Option<string?>("--socket-group") { Description = "Group of a unix socket (default: postfix, if that group exists)", HelpName = "GROUP" };
        var user = new Option<string?>("--user", "-u")
        {
            Description = "When started as root: bind the socket, then run as this user (and group)",
            HelpName = "USER[:GROUP]",
        };
        var allowRoot = new Option<bool>("--allow-root") { Description = "Keep running as root (without -u, a daemon started as root refuses to run)" };
        var listFilters = new Option<bool>("--list-filters") { Description = "List the filters compiled into this binary and exit" };
        var logLevel = new Option<LogLevel>("--log-level")
        {
            Description = "Least severe level logged: Trace, Debug, Information, Warning, Error, Critical, None",
            DefaultValueFactory = _ => LogLevel.Information,
            HelpName = "LEVEL",
        };
        var logFile = new Option<string?>("--log-file") { Description = "Append the log to this file instead of standard error", HelpName = "PATH" };
        var fallback = new Option<string>("--fallback")
        {
            Description = "Verdict when a filter throws: tempfail, reject, accept or continue",
            DefaultValueFactory = _ => "tempfail",
            HelpName = "VERDICT",
        };
        fallback.AcceptOnlyFromAmong("tempfail", "reject", "accept", "continue");
        var maxPacket = new Option<int>("--max-packet-size")
        {
            Description = "Largest packet accepted from the MTA, in bytes (Postfix may send headers over 64 KiB)",
            DefaultValueFactory = _ => 1024 * 1024,
            HelpName = "BYTES",
        };
        maxPacket.Validators.Add(r =>
        {
            int v = r.GetValueOrDefault<int>();
            if (v < 65535 || v > 256 * 1024 * 1024)
            {
                r.AddError($"--max-packet-size {v} is out of range: 65535 to 268435456");
            }
        });
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for the MTA's next command before closing the connection",
            DefaultValueFactory = _ => 7210,
            HelpName = "SECONDS",
        };
        timeout.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--timeout must be at least 1 second");
            }
        });
        var grace = new Option<int>("--shutdown-grace")
        {
            Description = "Seconds in-flight connections may take to finish after SIGTERM",
            DefaultValueFactory = _ => 10,
            HelpName = "SECONDS",
        };
        grace.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--shutdown-grace must not be negative");
            }
        });
        var progress = new Option<int>("--progress-interval")
        {
            Description = "Seconds between progress messages while an end-of-message callback is still running (0: none)",
            DefaultValueFactory = _ => 5,
            HelpName = "SECONDS",
        };
        progress.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--progress-interval must not be negative");
            }
        });
        var ioThreads = new Option<int>("--io-threads")
        {
            Description = "I/O threads that read, run the filters' synchronous callbacks and reply (default 0: one per core)",
            DefaultValueFactory = _ => 0,
            HelpName = "N",
        };
        ioThreads.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 1024)
            {
                r.AddError("--io-threads must be between 0 and 1024");
            }
        });
        var busyPoll = new Option<int>("--busy-poll")
        {
            Description = "Microseconds an I/O thread under load looks for its next event before it sleeps (0: never; by default none when the process may use only one CPU)",
            DefaultValueFactory = _ => (int)EventLoopGroup.DefaultBusyPoll.TotalMicroseconds,
            HelpName = "MICROSECONDS",
        };
        busyPoll.Validators.Add(r =>
        {
            int microseconds = r.GetValueOrDefault<int>();
            if (microseconds < 0 || microseconds > EventLoopGroup.MaxBusyPoll.TotalMicroseconds)
            {
                r.AddError($"--busy-poll must be between 0 and {EventLoopGroup.MaxBusyPoll.TotalMicroseconds:0} microseconds");
            }
        });
        var chainLimit = new Option<long>("--max-chain-message-size")
        {
            Description = "Largest message body a chain of filters keeps to show its later filters, in bytes",
            DefaultValueFactory = _ => 64L * 1024 * 1024,
            HelpName = "BYTES",
        };
        chainLimit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() < 65536)
            {
                r.AddError("--max-chain-message-size must be at least 65536");
            }
        });
        var negotiationTimeout = Seconds("--negotiation-timeout", "Seconds a new connection may take to send its option negotiation", 30);
        var frameTimeout = Seconds("--frame-timeout", "Seconds a packet may take to arrive whole from its first byte (and replies to be taken by the MTA)", 60);
        var callbackTimeout = Seconds("--callback-timeout", "Seconds one filter callback may run; then it is cancelled and the fallback verdict is sent (also the cap on progress at end of message)", 60);
        var maxConnections = new Option<int>("--max-connections")
        {
            Description = "Connections served at once; beyond it a new connection is closed at once and the MTA applies its default action",
            DefaultValueFactory = _ => 4096,
            HelpName = "N",
        };
        maxConnections.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 1_000_000)
            {
                r.AddError("--max-connections must be between 1 and 1000000");
            }
        });
        var maxMemory = new Option<long>("--max-memory")
        {
            Description = "Bytes peers may make the daemon hold beyond each connection's working set (large packets, a chain's message copies), for the whole process",
            DefaultValueFactory = _ => 512L * 1024 * 1024,
            HelpName = "BYTES",
        };
        maxMemory.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() < 1024 * 1024)
            {
                r.AddError("--max-memory must be at least 1048576 (1 MiB)");
            }
        });
        var metrics = new Option<string?>("--metrics")
        {
            Description = "Serve the counters as Prometheus text on GET /metrics at this socket (inet:PORT@HOST or unix:/path)",
            HelpName = "SPEC",
        };
        metrics.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } text && !SocketSpec.TryParse(text, out _, out string? error))
            {
                r.AddError($"--metrics: {error}");
            }
        });
        var alwaysReply = new Option<bool>("--always-reply")
        {
            Description = "Ask the MTA to wait for a reply to every event, even where the filters cannot change the outcome (as libmilter does by default)",
        };

        var printConfig = new Option<string?>("--print-config")
        {
            Description = "Print the Postfix (main.cf) or Sendmail (sendmail.mc) lines for this command line and exit",
            HelpName = "MTA",
        };
        printConfig.AcceptOnlyFromAmong("postfix", "sendmail");

        var config = new Option<string?>("--config", "-c")
        {
            Description = "The configuration file holding the filters' settings; re-read on SIGHUP",
            HelpName = "FILE",
        };
        var checkConfig = new Option<bool>("--check-config")
        {
            Description = "Check the configuration file given with -c and exit: 0 when it is valid, 1 with every error (file:line: field: message)",
        };

        var root = new RootCommand($"{ProgramName.Value}: {options.Description}")
        {
            socket, filter, config, checkConfig, daemon, pidFile, socketMode, socketGroup, user, allowRoot, listFilters, printConfig, logLevel, logFile,
            fallback, maxPacket, timeout, negotiationTimeout, frameTimeout, callbackTimeout, grace, progress, ioThreads, busyPoll, chainLimit,
            maxConnections, maxMemory, metrics, alwaysReply,
        };

        // Tools that ship with the daemon, one file each (like redis-benchmark with Redis).
        foreach (Command tool in Tools.Create(filters))
        {
            root.Subcommands.Add(tool);
        }

        root.SetAction(parse =>
        {
            if (parse.GetValue(listFilters))
            {
                // One column of names as wide as the longest, so that the descriptions line up whatever the names.
                int width = filters.Count == 0 ? 0 : filters.Max(f => f.Name.Length);
                foreach (MilterRegistration f in filters)
                {
                    Console.Out.WriteLine($"{f.Name.PadRight(Math.Max(width, 15))} {f.Description}");
                }

                return 0;
            }

            string[] names = parse.GetValue(filter) is { Length: > 0 } given ? given : defaultFilters;
            if (parse.GetValue(checkConfig))
            {
                string? path = parse.GetValue(config);
                if (path is null)
                {
                    Console.Error.WriteLine($"{ProgramName.Value}: --check-config needs the file to check: -c FILE");
                    return 2;
                }

                // Without -f, every section is checked but no filter is required to have one.
                string[] chosen = parse.GetValue(filter) ?? [];
                return ConfigCheck.Run(path, filters, chosen.Select(n => filters.First(f => f.Name == n)).ToArray(), Console.Out, Console.Error);
            }

            TryParseMode(parse.GetValue(socketMode) ?? "0660", out UnixFileMode mode);
            var settings = new DaemonSettings
            {
                Server = new MilterServerOptions
                {
                    Socket = SocketSpec.Parse(parse.GetValue(socket)!),
                    SocketMode = mode,
                    SocketGroup = parse.GetValue(socketGroup),
                    MaxPacketSize = parse.GetValue(maxPacket),
                    FallbackVerdict = parse.GetValue(fallback) switch
                    {
                        "reject" => VerdictKind.Reject,
                        "accept" => VerdictKind.Accept,
                        "continue" => VerdictKind.Continue,
                        _ => VerdictKind.TempFail,
                    },
                    ReadTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                    ShutdownGrace = TimeSpan.FromSeconds(parse.GetValue(grace)),
                    UseNoReplyFlags = !parse.GetValue(alwaysReply),
                    ProgressInterval = TimeSpan.FromSeconds(parse.GetValue(progress)),
                    MaxChainMessageSize = parse.GetValue(chainLimit),
                    NegotiationTimeout = TimeSpan.FromSeconds(parse.GetValue(negotiationTimeout)),
                    FrameTimeout = TimeSpan.FromSeconds(parse.GetValue(frameTimeout)),
                    CallbackTimeout = TimeSpan.FromSeconds(parse.GetValue(callbackTimeout)),
                    MaxConnections = parse.GetValue(maxConnections),
                    MaxMemory = parse.GetValue(maxMemory),
                },
                Filters = names.Select(n => filters.First(f => f.Name == n)).ToArray(),
                KnownFilters = filters,
                ConfigPath = parse.GetValue(config),
                Detach = parse.GetValue(daemon),
                User = parse.GetValue(user),
                Metrics = parse.GetValue(metrics) is { } metricsSpec ? SocketSpec.Parse(metricsSpec) : null,
                AllowRoot = parse.GetValue(allowRoot),
                PidFile = parse.GetValue(pidFile),
                LogLevel = parse.GetValue(logLevel),
                LogFile = parse.GetValue(logFile),
                IoThreads = parse.GetValue(ioThreads),
                BusyPoll = TimeSpan.FromMicroseconds(parse.GetValue(busyPoll)),
            };
            if (parse.GetValue(printConfig) is { } mta)
            {
                string commandLine = ProgramName.Value + " " + string.Join(' ', args.Where((a, i) => a != "--print-config" && (i == 0 || args[i - 1] != "--print-config")));
                Console.Out.Write(MtaConfiguration.Render(mta, settings.Server.Socket, new FilterChain(settings.Filters), settings.Server.FallbackVerdict, commandLine.TrimEnd()));
                return 0;
            }

            return Daemon.Run(settings, args);
        });

        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            // Say what is wrong, not the whole help text.
            foreach (ParseError error in result.Errors)
            {
                Console.Error.WriteLine($"{ProgramName.Value}: {error.Message}");
            }

            Console.Error.WriteLine($"Try '{ProgramName.Value} --help'.");
            return 2;
        }

        return result.Invoke();
    }

    /// <summary>A deadline option in whole seconds, at least 1.</summary>
    private static Option<int> Seconds(string name, string description, int defaultSeconds)
    {
        var option = new Option<int>(name)
        {
            Description = $"{description} (default {defaultSeconds})",
            DefaultValueFactory = _ => defaultSeconds,
            HelpName = "SECONDS",
        };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 86400)
            {
                r.AddError($"{name} must be between 1 and 86400 seconds");
            }
        });
        return option;
    }

    private static bool TryParseMode(string text, out UnixFileMode mode)
    {
        mode = default;
        if (text.Length is < 3 or > 4 || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return false;
        }

        int value = 0;
        foreach (char c in text)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }

            value = (value * 8) + (c - '0');
        }

        mode = (UnixFileMode)value;
        return true;
    }
}
