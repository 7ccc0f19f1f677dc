using AotMilter.Configuration;

namespace AotMilter.Filters.Matching;

/// <summary>
/// Settings that are lists of patterns, possibly over several lines and with <c>file:</c> lists
/// (<see cref="PatternWords"/>): each word parsed, each bad one reported on its line.
/// </summary>
public static class PatternLists
{
    /// <summary>IP addresses and networks (<c>exempt-clients = 127.0.0.1 ::1 10.0.0.0/8</c>).</summary>
    public static List<IpNetwork> ReadNetworks(ConfigSection section, string key) =>
        Read<IpNetwork>(section, key, (ConfigWord word, out IpNetwork? network, out string? error) => IpNetwork.TryParse(word.Text, out network, out error));

    /// <summary>Host names: wildcards or /regex/ (<c>exempt-hosts = *.google.com</c>).</summary>
    public static List<NamePattern> ReadNames(ConfigSection section, string key) => Read<NamePattern>(section, key, NamePattern.TryCreate);

    /// <summary>Envelope addresses: address, @domain, domain, &lt;&gt; or /regex/.</summary>
    public static List<AddressPattern> ReadAddresses(ConfigSection section, string key) => Read<AddressPattern>(section, key, AddressPattern.TryCreate);

    private delegate bool TryCreate<T>(ConfigWord word, out T? pattern, out string? error);

    private static List<T> Read<T>(ConfigSection section, string key, TryCreate<T> create)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(section);
        var result = new List<T>();
        foreach (ConfigEntry entry in section.GetAll(key))
        {
            foreach (ConfigWord word in PatternWords.Expand(section, entry, ConfigWords.Split(section, entry)))
            {
                if (create(word, out T? pattern, out string? error))
                {
                    result.Add(pattern!);
                }
                else
                {
                    section.Error(entry, error!);
                }
            }
        }

        return result;
    }
}
