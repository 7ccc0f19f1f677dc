using System.Net;

namespace AotMilter.Filters.Scanning;

/// <summary>Names and values of the header fields the scanning filters write.</summary>
public static class ScanHeaders
{
    public const string VirusScanned = "X-Virus-Scanned";
    public const string VirusStatus = "X-Virus-Status";

    private static readonly Lazy<string> HostName = new(() =>
    {
        try
        {
            return Dns.GetHostName();
        }
        catch (System.Net.Sockets.SocketException)
        {
            return "localhost";
        }
    });

    /// <summary>The value of <c>X-Virus-Scanned</c>: which scanner, through what, on which host.</summary>
    public static string ScannedBy(string scanner) => $"{scanner} (AotMilter {AotMilterVersion.Current}) at {HostName.Value}";

    /// <summary>A scanner's name for something (a virus, a symbol) as a header or reply may carry it: printable ASCII, at most 200 characters.</summary>
    public static string Printable(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return string.Create(Math.Min(text.Length, 200), text, static (span, source) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                char c = source[i];
                span[i] = c is >= ' ' and < (char)127 ? c : '?';
            }
        });
    }
}
