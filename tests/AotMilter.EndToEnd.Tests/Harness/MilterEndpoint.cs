namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// Where the milter listens, spelled for each party: aotmilter and Sendmail use <c>unix:/path</c> and
/// <c>inet:PORT@127.0.0.1</c>; Postfix uses <c>unix:/path</c> and <c>inet:127.0.0.1:PORT</c>.
/// </summary>
public abstract record MilterEndpoint
{
    public static MilterEndpoint Unix(string path) => new UnixMilterEndpoint(path);

    public static MilterEndpoint Inet(int port) => new InetMilterEndpoint(port);

    public abstract string ForAotMilter { get; }

    public abstract string ForSendmail { get; }

    public abstract string ForPostfix { get; }
}

public sealed record UnixMilterEndpoint(string Path) : MilterEndpoint
{
    public override string ForAotMilter => $"unix:{Path}";

    public override string ForSendmail => $"unix:{Path}";

    public override string ForPostfix => $"unix:{Path}";

    public override string ToString() => ForAotMilter;
}

public sealed record InetMilterEndpoint(int Port) : MilterEndpoint
{
    public override string ForAotMilter => $"inet:{Port}@127.0.0.1";

    public override string ForSendmail => $"inet:{Port}@127.0.0.1";

    public override string ForPostfix => $"inet:127.0.0.1:{Port}";

    public override string ToString() => ForAotMilter;
}
