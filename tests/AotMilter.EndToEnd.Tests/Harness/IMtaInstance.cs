namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>What a test needs of a running MTA, Postfix or Sendmail alike, so one test can check both.</summary>
public interface IMtaInstance : IAsyncDisposable
{
    /// <summary>"Postfix" or "Sendmail".</summary>
    string Name { get; }

    /// <summary>Where the MTA relays accepted mail.</summary>
    SmtpSink Sink { get; }

    /// <summary>Opens an SMTP session; returns the client and the greeting.</summary>
    Task<(SmtpClient Client, SmtpReply Greeting)> ConnectAsync();

    /// <summary>Connects, runs one transaction (see <see cref="SmtpClient.SendAsync"/>) and quits.</summary>
    Task<SmtpTransaction> SendAsync(string from, IEnumerable<string> recipients, byte[] message, string helo = "client.aotmilter.test");

    /// <summary>Waits for the first relayed message that matches; throws with the MTA's log on timeout.</summary>
    Task<SinkMessage> WaitForAsync(Func<SinkMessage, bool> predicate, TimeSpan timeout, string what);

    /// <summary>The MTA's log so far.</summary>
    string ReadLog();

    /// <summary>Text for failure messages: configuration, log, sink.</summary>
    string Describe();
}
