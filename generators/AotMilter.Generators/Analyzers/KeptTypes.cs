namespace AotMilter.Generators.Analyzers;

/// <summary>The per-connection objects a filter must not keep beyond its connection, and the types that hold one.</summary>
internal sealed class KeptTypes(KnownTypes known)
{
    /// <summary>"MilterContext" or "MessageEditor" when the type is one, or an array or generic type holding one; else null.</summary>
    public string? NameOf(ITypeSymbol? candidate) => candidate switch
    {
        null => null,
        _ when SymbolEqualityComparer.Default.Equals(candidate, known.Context) => "MilterContext",
        _ when SymbolEqualityComparer.Default.Equals(candidate, known.MessageEditor) => "MessageEditor",
        IArrayTypeSymbol array => NameOf(array.ElementType),
        INamedTypeSymbol { IsGenericType: true } generic => FirstKept(generic.TypeArguments),
        _ => null,
    };

    private string? FirstKept(IEnumerable<ITypeSymbol> types)
    {
        foreach (ITypeSymbol t in types)
        {
            if (NameOf(t) is { } name)
            {
                return name;
            }
        }

        return null;
    }
}
