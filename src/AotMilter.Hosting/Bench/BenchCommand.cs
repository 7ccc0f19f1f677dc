using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.InteropServices;
using AotMilter.Protocol;

namespace AotMilter.Hosting.Bench;

/// <summary>
/// <c>aotmilter bench</c>: a load generator for any milter, shipped with the daemon as redis-benchmark ships with
/// Redis. It plays the MTA (the conversation of ../shared/bench/milter-load), validates every reply and reports
/// msgs/s, latency percentiles and its own CPU. Two helper modes serve the benchmark script: <c>--idle N</c> (hold N
/// negotiated connections open) and <c>--startup -- COMMAND</c> (time from spawn to an accepting socket).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var socket = new Option<string>("--socket", "-p") { Description = "The milter's socket: unix:/path, inet:PORT@HOST, inet6:PORT@HOST", HelpName = "SPEC", Required = true };
        socket.Validators.Add(r =>
        {
            if (!SocketSpec.TryParse(r.GetValueOrDefault<string>(), out _, out string? error))
            {
                r.AddError(error);
            }
        });
        var connections = Positive(new Option<int>("--connections", "-c") { Description = "Concurrent milter connections", DefaultValueFactory = _ => 1, HelpName = "C" });
        var messages = Positive(new Option<long>("--messages", "-n") { Description = "Messages to send in all (default 10000 unless --duration)", HelpName = "M" });
        var duration = Positive(new Option<double>("--duration", "-d") { Description = "Send messages for this many seconds instead of a count (with --idle: hold that long)", HelpName = "S" });
        var size = NotNegative(new Option<int>("--size") { Description = "Body size in bytes", DefaultValueFactory = _ => 4096, HelpName = "B" });
        var headers = NotNegative(new Option<int>("--headers") { Description = "Headers per message", DefaultValueFactory = _ => 10, HelpName = "N" });
        var perConnection = Positive(new Option<int>("--msgs-per-conn") { Description = "Messages per milter connection (SMTP session); ABORT between them", DefaultValueFactory = _ => 1, HelpName = "K" });
        var message = new Option<string[]>("--message", "-m")
        {
            Description = "Send this message file (a directory: every file in it) instead of the generated message; FILE:VERDICT says the verdict it must get "
                + $"({BenchMessageFile.VerdictNames}; default accept). Repeatable: the files go in turn, so a file given twice is sent twice as often",
            HelpName = "FILE[:VERDICT]",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        message.Validators.Add(r =>
        {
            foreach (string spec in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (BenchMessageFile.Check(spec) is string error)
                {
                    r.AddError(error);
                }
            }
        });
        var rcpt = new Option<string>("--rcpt") { Description = "Envelope recipient (reject@example.com implies --expect-reject)", DefaultValueFactory = _ => "user@example.com", HelpName = "ADDR" };
        var expectReject = new Option<bool>("--expect-reject") { Description = "The recipient must be refused (reject or a 5xx reply); the message ends there" };
        var expectHeader = new Option<string?>("--expect-header") { Description = "End of message must add this header (X-Bench: its value must be the number of headers sent)", HelpName = "NAME" };
        var chunk = new Option<int>("--chunk") { Description = "Body chunk size, at most 65535", DefaultValueFactory = _ => BenchSettings.MaxChunk, HelpName = "BYTES" };
        chunk.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > BenchSettings.MaxChunk)
            {
                r.AddError($"--chunk must be from 1 to {BenchSettings.MaxChunk}");
            }
        });
        var offerProtocol = Hex(new Option<string>("--offer-proto") { Description = "Protocol flags offered in the negotiation", DefaultValueFactory = _ => "0x1fffff", HelpName = "HEX" });
        var offerActions = Hex(new Option<string>("--offer-actions") { Description = "Actions offered in the negotiation", DefaultValueFactory = _ => "0x1ff", HelpName = "HEX" });
        var timeout = Positive(new Option<double>("--timeout") { Description = "Seconds to wait for a reply before counting an error", DefaultValueFactory = _ => 10, HelpName = "S" });
        var maxErrors = Positive(new Option<long>("--max-errors") { Description = "Stop after this many errors", DefaultValueFactory = _ => 100, HelpName = "N" });
        var label = new Option<string>("--label") { Description = "A tag copied into the RESULT line", DefaultValueFactory = _ => "", HelpName = "L" };
        var threads = Positive(new Option<int>("--threads") { Description = "Event-loop threads of the generator (1: one epoll loop, like milter-load)", DefaultValueFactory = _ => 1, HelpName = "N" });
        var idle = Positive(new Option<int>("--idle") { Description = "Open N connections, negotiate, send connect and HELO, then hold them idle (until --duration or SIGTERM)", HelpName = "N" });
        var startup = new Option<bool>("--startup") { Description = "Time COMMAND (after --) from spawn until --socket accepts connections; median of --runs" };
        var runs = Positive(new Option<int>("--runs") { Description = "Runs of --startup", DefaultValueFactory = _ => 9, HelpName = "R" });
        var command = new Argument<string[]>("command") { Description = "With --startup: the milter to start, after --", Arity = ArgumentArity.ZeroOrMore };

        var bench = new Command("bench", "Load-test a milter: play the MTA on C connections, validate every reply, report msgs/s, latency and the generator's own CPU.")
        {
            socket, connections, messages, duration, size, headers, message, perConnection, rcpt, expectReject, expectHeader, chunk,
            offerProtocol, offerActions, timeout, maxErrors, label, threads, idle, startup, runs, command,
        };
        bench.Validators.Add(r =>
        {
            bool isStartup = r.GetValue(startup);
            if (r.GetResult(messages) is { Implicit: false } && r.GetResult(duration) is { Implicit: false })
            {
                r.AddError("give --messages or --duration, not both");
            }

            if (r.GetValue(message) is { Length: > 0 })
            {
                if (r.GetResult(size) is { Implicit: false } || r.GetResult(headers) is { Implicit: false })
                {
                    r.AddError("--size and --headers shape the generated message; --message sends files instead");
                }

                if (r.GetValue(expectReject) || string.Equals(r.GetValue(rcpt), "reject@example.com", StringComparison.OrdinalIgnoreCase))
                {
                    r.AddError("with --message each file says its verdict (FILE:reject), not --expect-reject or --rcpt reject@example.com");
                }
            }

            if (isStartup != r.GetValue(command) is { Length: > 0 })
            {
                r.AddError(isStartup ? "--startup needs the command to start after --" : "unexpected arguments (a command is only taken with --startup)");
            }
        });

        bench.SetAction(parse =>
        {
            SocketSpec spec = SocketSpec.Parse(parse.GetValue(socket)!);
            if (parse.GetValue(startup))
            {
                return StartupProbe.Run(spec, parse.GetValue(command)!, parse.GetValue(runs), parse.GetValue(label)!, Console.Out);
            }

            var settings = new BenchSettings
            {
                Socket = spec,
                Connections = parse.GetValue(connections),
                Messages = parse.GetValue(messages) is > 0 and var m ? m : parse.GetValue(duration) > 0 ? 0 : 10_000,
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                BodySize = parse.GetValue(size),
                Headers = parse.GetValue(headers),
                MessageFiles = BenchMessageFile.Expand(parse.GetValue(message) ?? []),
                MessagesPerConnection = parse.GetValue(perConnection),
                Chunk = parse.GetValue(chunk),
                Recipient = parse.GetValue(rcpt)!,
                // As with milter-load, the bench filter's reject address implies the expectation.
                ExpectReject = parse.GetValue(expectReject) || string.Equals(parse.GetValue(rcpt), "reject@example.com", StringComparison.OrdinalIgnoreCase),
                ExpectHeader = parse.GetValue(expectHeader),
                OfferProtocol = (ProtocolFlags)ParseHex(parse.GetValue(offerProtocol)!),
                OfferActions = (ActionFlags)ParseHex(parse.GetValue(offerActions)!),
                Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                MaxErrors = parse.GetValue(maxErrors),
                Label = parse.GetValue(label)!,
                Threads = parse.GetValue(threads),
                Idle = parse.GetValue(idle),
            };
            return settings.Idle > 0 ? RunIdle(settings) : RunLoad(settings);
        });
        return bench;
    }

    private static int RunLoad(BenchSettings settings)
    {
        BenchResult result = new BenchRun(settings).Run();
        BenchReport.PrintLoad(Console.Out, result);
        if (result.Errors > 0)
        {
            Console.Error.WriteLine($"{ProgramName.Value} bench: {result.Errors} error(s); first: {result.FirstError}");
        }

        return result.Errors > 0 || result.Messages == 0 ? 1 : 0;
    }

    private static int RunIdle(BenchSettings settings)
    {
        // Held until --duration elapses, or until SIGTERM / SIGINT.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Release);
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Release);
        BenchResult result = new BenchRun(settings).RunIdle(release.Task, ready =>
        {
            BenchReport.PrintIdle(Console.Out, ready);
            if (settings.Duration > TimeSpan.Zero)
            {
                _ = Task.Delay(settings.Duration).ContinueWith(_ => release.TrySetResult(), TaskScheduler.Default);
            }
        });
        return result.Errors > 0 || result.Ok < settings.Idle ? 1 : 0;

        void Release(PosixSignalContext context)
        {
            context.Cancel = true;
            release.TrySetResult();
        }
    }

    private static Option<T> Positive<T>(Option<T> option)
        where T : System.Numerics.INumber<T>
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<T>() <= T.Zero)
            {
                r.AddError($"{option.Name} must be positive");
            }
        });
        return option;
    }

    private static Option<int> NotNegative(Option<int> option)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError($"{option.Name} must not be negative");
            }
        });
        return option;
    }

    private static Option<string> Hex(Option<string> option)
    {
        option.Validators.Add(r =>
        {
            if (!TryParseHex(r.GetValueOrDefault<string>() ?? "", out _))
            {
                r.AddError($"{option.Name} '{r.GetValueOrDefault<string>()}' is not a hexadecimal number such as 0x1fffff");
            }
        });
        return option;
    }

    private static uint ParseHex(string text) => TryParseHex(text, out uint value) ? value : throw new FormatException(text);

    private static bool TryParseHex(string text, out uint value)
    {
        ReadOnlySpan<char> digits = text.AsSpan().Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }

        return uint.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
