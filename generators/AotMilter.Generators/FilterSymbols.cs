namespace AotMilter.Generators;

/// <summary>How the parser and the analyzers recognise filter classes and name symbols in their messages.</summary>
internal static class FilterSymbols
{
    /// <summary>"Ns.Outer.Filter": what MilterRegistration.TypeName shows and diagnostics quote.</summary>
    public static readonly SymbolDisplayFormat TypeNameFormat =
        SymbolDisplayFormat.FullyQualifiedFormat.WithGlobalNamespaceStyle(SymbolDisplayGlobalNamespaceStyle.Omitted);

    public static string TypeName(INamedTypeSymbol type) => type.ToDisplayString(TypeNameFormat);

    public static bool IsNamed(INamedTypeSymbol? type, string metadataName)
        => type is not null && type.ToDisplayString(TypeNameFormat) == metadataName;

    /// <summary>The class carries [Milter].</summary>
    public static bool IsFilter(INamedTypeSymbol type)
    {
        foreach (AttributeData attribute in type.GetAttributes())
        {
            if (IsNamed(attribute.AttributeClass, KnownNames.MilterAttribute))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The filter classes whose own code <paramref name="symbol"/> is: each [Milter] class it is in, nested or not,
    /// innermost first; empty for code outside every filter class.
    /// </summary>
    public static List<INamedTypeSymbol> EnclosingFilters(ISymbol? symbol)
    {
        var filters = new List<INamedTypeSymbol>();
        for (INamedTypeSymbol? type = symbol as INamedTypeSymbol ?? symbol?.ContainingType; type is not null; type = type.ContainingType)
        {
            if (IsFilter(type))
            {
                filters.Add(type);
            }
        }

        return filters;
    }

    /// <summary><paramref name="candidate"/> is <paramref name="type"/> or nested in it.</summary>
    public static bool IsWithin(INamedTypeSymbol? candidate, INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? t = candidate?.OriginalDefinition; t is not null; t = t.ContainingType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, type))
            {
                return true;
            }
        }

        return false;
    }

    public static string AttributeDisplay(MilterEvent kind) => "[On" + kind + "]";

    /// <summary>"Type.Method", or "new Type" for a constructor.</summary>
    public static string MethodDisplay(IMethodSymbol method)
    {
        string type = method.ContainingType?.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) ?? "?";
        return method.MethodKind == MethodKind.Constructor ? "new " + type : type + "." + method.Name;
    }
}
