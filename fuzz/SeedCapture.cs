using System.Net.Sockets;
using AotMilter.Protocol;
using AotMilter.Server;
using AotMilter.Mta;
using Microsoft.Extensions.Logging.Abstractions;

namespace AotMilter.Fuzz;

/// <summary>
/// Writes the <c>frames</c> target's seeds: real conversations of the test kit's Postfix and Sendmail models (and of
/// its raw client) with the frames chain running in a real server, recorded by a proxy between the two as the bytes
/// the MTA sent, each behind a mode byte of 0 (every callback completes synchronously).
/// </summary>
internal static class SeedCapture
{
    private const string Plain = "From: Sender <sender@example.net>\r\nTo: user@example.com\r\nSubject: Hello\r\n"
        + "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nHello,\r\nsee you tomorrow.\r\n";

    private const string Alternative = "From: sender@example.org\r\nTo: user@example.com\r\nSubject: Report\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
        + "--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n"
        + "--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGh0bWw+PGJvZHk+SGk8L2JvZHk+PC9odG1sPg==\r\n"
        + "--b1--\r\n";

    private const string Spam = "From: x@spam.example\r\nTo: old@example.com\r\nSubject: =?UTF-8?B?VklBR1JB?= offer\r\n"
        + "X-Spam-Flag: YES\r\nX-Mailer: Bulk 1.0\r\n\r\nPlease make a wire transfer today.\r\n";

    public static async Task<int> RunAsync(string outputDirectory)
    {
        Directory.CreateDirectory(outputDirectory);
        string work = Directory.CreateTempSubdirectory("aotmilter-seeds-").FullName;
        string milterPath = Path.Combine(work, "milter.sock");
        string proxyPath = Path.Combine(work, "proxy.sock");
        MilterRegistration[] filters = FramesTarget.Registrations();
        var options = new MilterServerOptions { Socket = SocketSpec.Parse("unix:" + milterPath), SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        using var stop = new CancellationTokenSource();
        await using var server = new MilterServer(new FilterChain(filters, FramesTarget.Settings(filters)), options, NullLoggerFactory.Instance);
        server.Start();
        Task running = server.RunAsync(stop.Token);
        using var proxy = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        proxy.Bind(new UnixDomainSocketEndPoint(proxyPath));
        proxy.Listen(4);
        string proxySpec = "unix:" + proxyPath;

        SmtpClientInfo blocked = new() { Address = "203.0.113.7", HostName = "[203.0.113.7]" };
        var scenarios = new (string Name, Func<Task> Play)[]
        {
            ("postfix-plain", () => Send(proxySpec, MtaProfile.Postfix, Plain, "sender@example.net", ["user@example.com"])),
            ("sendmail-plain", () => Send(proxySpec, MtaProfile.Sendmail, Plain, "sender@example.net", ["user@example.com"])),
            ("postfix-v2-plain", () => Send(proxySpec, MtaProfile.Postfix.WithMilterProtocol(2), Plain, "sender@example.net", ["user@example.com"])),
            ("postfix-disclaimer-alternative", () => Send(proxySpec, MtaProfile.Postfix, Alternative, "sender@example.org", ["user@example.com"])),
            ("sendmail-disclaimer-alternative", () => Send(proxySpec, MtaProfile.Sendmail, Alternative, "sender@example.org", ["user@example.com"])),
            ("postfix-rules-spam", () => Send(proxySpec, MtaProfile.Postfix, Spam, "x@example.net", ["old@example.com", "user@example.com"])),
            ("postfix-recipients", () => Send(proxySpec, MtaProfile.Postfix, Plain, "sender@example.net", ["busy@example.com", "user@example.com", "blackhole@example.com"])),
            ("sendmail-blocked-client", () => Send(proxySpec, MtaProfile.Sendmail, Plain, "sender@example.net", ["user@example.com"], blocked)),
            ("postfix-two-messages", () => TwoMessages(proxySpec)),
            ("raw-abort-unknown-reuse", () => RawClient(proxySpec)),
        };

        foreach ((string name, Func<Task> play) in scenarios)
        {
            Task<byte[]> recording = RecordOneAsync(proxy, milterPath);
            await play();
            byte[] sent = await recording.WaitAsync(TimeSpan.FromSeconds(10));
            await File.WriteAllBytesAsync(Path.Combine(outputDirectory, name), [0, .. sent]);
            Console.WriteLine($"{name}: {sent.Length} bytes");
        }

        await stop.CancelAsync();
        await running;
        Directory.Delete(work, recursive: true);
        return 0;
    }

    private static async Task Send(string proxySpec, MtaProfile profile, string message, string from, string[] to, SmtpClientInfo? client = null)
    {
        await using SimulatedMta mta = SimulatedMta.ForSocket(proxySpec, profile);
        if (client is not null)
        {
            mta.Client = client;
        }

        await mta.SendAsync(Email.Parse(message), from, to);
    }

    private static async Task TwoMessages(string proxySpec)
    {
        await using SimulatedMta mta = SimulatedMta.ForSocket(proxySpec, MtaProfile.Postfix);
        await using MtaSession session = await mta.OpenSessionAsync();
        await session.ConnectAsync();
        await session.HeloAsync();
        await session.SendMessageAsync(Email.Parse(Plain), Envelope.Of("sender@example.net", "user@example.com"));
        await session.SendMessageAsync(Email.Parse(Alternative), Envelope.Of("sender@example.org", "user@example.com"));
    }

    /// <summary>What no MTA model sends in one go: an unknown SMTP command, an aborted message, and connection reuse.</summary>
    private static async Task RawClient(string proxySpec)
    {
        await using MilterClient client = await MilterClient.ConnectAsync(proxySpec);
        await client.NegotiateAsync();
        await client.MacroAsync('C', ("j", "mx.example.com"), ("{daemon_name}", "smtpd"));
        await client.ConnectAsync("client.example.net", ConnectFamily.IPv6, 25, "2001:db8::1");
        await client.HeloAsync("client.example.net");
        await client.UnknownAsync("XYZZY plugh");
        await client.MacroAsync('M', ("i", "4ABC"), ("{auth_authen}", "alice"));
        await client.MailFromAsync("<sender@example.org>", "SIZE=120", "BODY=8BITMIME");
        await client.RcptToAsync("<user@example.com>");
        await client.DataAsync();
        await client.HeaderAsync("Subject", "half a message");
        await client.AbortAsync();
        await client.QuitNewConnectionAsync();
        await client.ConnectAsync("[198.51.100.2]", ConnectFamily.IPv4, 2525, "198.51.100.2");
        await client.MailFromAsync("<>");
        await client.QuitAsync();
    }

    /// <summary>Accepts one connection on the proxy, relays it to the milter and returns what the MTA side sent.</summary>
    private static async Task<byte[]> RecordOneAsync(Socket proxy, string milterPath)
    {
        using Socket mta = await proxy.AcceptAsync();
        using var milter = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await milter.ConnectAsync(new UnixDomainSocketEndPoint(milterPath));
        var sent = new MemoryStream();
        Task replies = RelayAsync(milter, mta, null);
        await RelayAsync(mta, milter, sent);
        milter.Shutdown(SocketShutdown.Send);
        await replies;
        return sent.ToArray();
    }

    private static async Task RelayAsync(Socket from, Socket to, MemoryStream? copy)
    {
        byte[] buffer = new byte[65536];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                copy?.Write(buffer, 0, n);
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
        }
        catch (SocketException)
        {
            // The other side hung up first: the conversation is over either way.
        }
    }
}
