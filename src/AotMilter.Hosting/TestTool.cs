using System.CommandLine;
using AotMilter.Protocol;
using AotMilter.Mta;

namespace AotMilter.Hosting;

/// <summary>
/// <c>aotmilter test</c>: plays Postfix or Sendmail against any milter on a socket, whatever language it is written
/// in, sends it one message and prints what the milter did at each stage, every modification, and the message as that
/// MTA would relay it. Exit code 0 when the conversation completed (whatever the verdict), 1 when the milter could not
/// be reached or broke the protocol, 2 for a bad command line.
/// </summary>
internal static class TestTool
{
    public static Command Create()
    {
        var socket = new Option<string>("--socket", "-p")
        {
            Description = "The milter's socket: unix:/path, inet:PORT@HOST, inet6:PORT@HOST",
            HelpName = "SPEC",
            Required = true,
        };
        socket.Validators.Add(r =>
        {
            if (!SocketSpec.TryParse(r.GetValueOrDefault<string>() ?? "", out _, out string? error))
            {
                r.AddError(error);
            }
        });
        var mta = new Option<string>("--mta")
        {
            Description = "The MTA to play: postfix (default) or sendmail",
            DefaultValueFactory = _ => "postfix",
            HelpName = "MTA",
        };
        mta.AcceptOnlyFromAmong("postfix", "sendmail");
        var from = new Option<string>("--from")
        {
            Description = "The envelope sender, optionally with ESMTP parameters (\"a@example.org RET=HDRS\")",
            DefaultValueFactory = _ => "sender@example.org",
            HelpName = "ADDRESS",
        };
        var rcpt = new Option<string[]>("--rcpt")
        {
            Description = "An envelope recipient, optionally with ESMTP parameters; repeat for several (default recipient@example.net)",
            HelpName = "ADDRESS",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var helo = new Option<string>("--helo")
        {
            Description = "The HELO name the client gives",
            DefaultValueFactory = _ => "client.example.org",
            HelpName = "NAME",
        };
        var client = new Option<string>("--client")
        {
            Description = "The client address reported at connect",
            DefaultValueFactory = _ => "192.0.2.10",
            HelpName = "ADDRESS",
        };
        var version = new Option<int>("--protocol-version")
        {
            Description = "The milter protocol version offered: 2, 3, 4 or 6 (Postfix's milter_protocol; Postfix also offers fewer events below 6)",
            DefaultValueFactory = _ => 6,
            HelpName = "N",
        };
        version.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is not (2 or 3 or 4 or 6))
            {
                r.AddError("--protocol-version must be 2, 3, 4 or 6");
            }
        });
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for each answer of the milter (progress restarts the wait)",
            DefaultValueFactory = _ => 30,
            HelpName = "SECONDS",
        };
        var message = new Argument<string>("message")
        {
            Description = "The message to send: an .eml file (LF or CRLF line ends), or - for standard input",
        };

        var command = new Command("test", "Play Postfix or Sendmail against a milter on a socket: send one message, print what the milter did and the message as that MTA would relay it")
        {
            socket, mta, from, rcpt, helo, client, version, timeout, message,
        };
        command.SetAction(parse =>
        {
            MtaProfile profile = parse.GetValue(mta) == "sendmail" ? MtaProfile.Sendmail : MtaProfile.Postfix;
            profile = profile.WithMilterProtocol((uint)parse.GetValue(version));
            string[] recipients = parse.GetValue(rcpt) is { Length: > 0 } given ? given : ["recipient@example.net"];
            return Run(
                parse.GetValue(socket)!, profile, parse.GetValue(message)!, parse.GetValue(from)!, recipients,
                new SmtpClientInfo { Helo = parse.GetValue(helo)!, Address = parse.GetValue(client)!, HostName = parse.GetValue(helo)! },
                TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))));
        });
        return command;
    }

    private static int Run(string socket, MtaProfile profile, string path, string from, string[] recipients, SmtpClientInfo client, TimeSpan timeout)
    {
        Email email;
        try
        {
            email = path == "-" ? Email.Parse(ReadStandardInput()) : Email.Load(path);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"{ProgramName.Value} test: cannot read {path}: {ex.Message}");
            return 2;
        }
        catch (UnauthorizedAccessException ex)
        {
            Console.Error.WriteLine($"{ProgramName.Value} test: cannot read {path}: {ex.Message}");
            return 2;
        }

        Console.Out.WriteLine($"milter: {socket}");
        try
        {
            SimulatedMta mta = SimulatedMta.ForSocket(socket, profile);
            mta.Timeout = timeout;
            mta.Client = client;
            MessageResult result = mta.SendAsync(email, Envelope.Of(from, recipients)).GetAwaiter().GetResult();
            Console.Out.Write(result.ToString());
            return 0;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or MilterProtocolException)
        {
            Console.Error.WriteLine($"{ProgramName.Value} test: {ex.Message}");
            return 1;
        }
    }

    private static byte[] ReadStandardInput()
    {
        using Stream input = Console.OpenStandardInput();
        using var bytes = new MemoryStream();
        input.CopyTo(bytes);
        return bytes.ToArray();
    }
}
