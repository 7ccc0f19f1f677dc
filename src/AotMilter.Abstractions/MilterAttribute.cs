namespace AotMilter;

/// <summary>
/// Marks a class as a filter. The source generator turns it into a dispatcher and a registration, so
/// <c>aotmilter -f NAME</c> can run it with no reflection. The class needs a public parameterless constructor:
/// one instance serves one SMTP connection, so fields may hold per-connection state.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class MilterAttribute : Attribute
{
    public MilterAttribute(string name) => Name = name;

    /// <summary>The name used with <c>-f NAME</c>: lower case letters, digits, '-' and '_'.</summary>
    public string Name { get; }

    /// <summary>One line shown by <c>--list-filters</c>.</summary>
    public string? Description { get; set; }
}
