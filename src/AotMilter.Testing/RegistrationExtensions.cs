namespace AotMilter.Testing;

/// <summary>Picking filters out of a generated catalog.</summary>
public static class RegistrationExtensions
{
    /// <summary>The filter called <paramref name="name"/> (as used with <c>-f</c>).</summary>
    /// <exception cref="ArgumentException">No such filter; the message lists the ones there are.</exception>
    public static MilterRegistration Named(this IEnumerable<MilterRegistration> registrations, string name)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        MilterRegistration[] all = [.. registrations];
        return all.FirstOrDefault(r => r.Name == name)
            ?? throw new ArgumentException($"no filter named '{name}'; there are: {string.Join(", ", all.Select(r => r.Name))}", nameof(name));
    }
}
