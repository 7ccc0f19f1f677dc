using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace AotMilter.Generators.Analyzers;

/// <summary>
/// Reports (AOTM024) where a filter class's own code keeps its <c>MilterContext</c> or <c>MessageEditor</c> where a
/// later connection could reach it: the daemon pools connections and hands the same context and editor to the next
/// one, possibly on another I/O thread. Instance fields of the filter are fine (the filter lives as long as its
/// connection); static members, members of other types and delegates started without anyone waiting for them are not.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class KeptContextAnalyzer() : FilterCodeAnalyzer(DiagnosticDescriptors.ContextKept)
{
    private static readonly SyntaxKind[] s_assignments =
    [
        SyntaxKind.SimpleAssignmentExpression, SyntaxKind.AddAssignmentExpression, SyntaxKind.SubtractAssignmentExpression,
        SyntaxKind.MultiplyAssignmentExpression, SyntaxKind.DivideAssignmentExpression, SyntaxKind.ModuloAssignmentExpression,
        SyntaxKind.AndAssignmentExpression, SyntaxKind.ExclusiveOrAssignmentExpression, SyntaxKind.OrAssignmentExpression,
        SyntaxKind.LeftShiftAssignmentExpression, SyntaxKind.RightShiftAssignmentExpression,
        SyntaxKind.UnsignedRightShiftAssignmentExpression, SyntaxKind.CoalesceAssignmentExpression,
    ];

    private protected override void Register(CompilationStartAnalysisContext start, KnownTypes known)
    {
        var kept = new KeptTypes(known);
        start.RegisterSymbolAction(c => AnalyzeFilterClass(c, kept), SymbolKind.NamedType);
        start.RegisterSyntaxNodeAction(c => AnalyzeAssignment(c, kept), s_assignments);
        start.RegisterSyntaxNodeAction(c => AnalyzeInvocation(c, kept), SyntaxKind.InvocationExpression);
        start.RegisterSyntaxNodeAction(c => AnalyzeCreation(c, kept), SyntaxKind.ObjectCreationExpression, SyntaxKind.ImplicitObjectCreationExpression);
    }

    /// <summary>Static fields and properties of the filter class and its nested types, wherever they are assigned.</summary>
    private static void AnalyzeFilterClass(SymbolAnalysisContext context, KeptTypes kept)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (FilterSymbols.IsFilter(type))
        {
            ReportStaticMembers(context, type, FilterSymbols.TypeName(type), kept);
        }
    }

    private static void ReportStaticMembers(SymbolAnalysisContext context, INamedTypeSymbol declaring, string typeName, KeptTypes kept)
    {
        foreach (ISymbol member in declaring.GetMembers())
        {
            switch (member)
            {
                case IFieldSymbol { IsStatic: true, IsImplicitlyDeclared: false } field when kept.NameOf(field.Type) is { } name:
                    Report(context.ReportDiagnostic, field.Locations.FirstOrDefault(), typeName, name, "in static field '" + field.Name + "'");
                    break;
                case IPropertySymbol { IsStatic: true } property when kept.NameOf(property.Type) is { } name:
                    Report(context.ReportDiagnostic, property.Locations.FirstOrDefault(), typeName, name, "in static property '" + property.Name + "'");
                    break;
                case INamedTypeSymbol nested:
                    ReportStaticMembers(context, nested, typeName, kept);
                    break;
            }
        }
    }

    /// <summary>A context or editor stored in a static member, or in a member of another type.</summary>
    private static void AnalyzeAssignment(SyntaxNodeAnalysisContext context, KeptTypes kept)
    {
        var assignment = (AssignmentExpressionSyntax)context.Node;
        SemanticModel model = context.SemanticModel;
        ITypeSymbol? value = model.GetTypeInfo(assignment.Right, context.CancellationToken).Type;
        if (kept.NameOf(value) is not { } name)
        {
            return;
        }

        ISymbol? target = model.GetSymbolInfo(assignment.Left, context.CancellationToken).Symbol;
        ITypeSymbol? targetType = target switch
        {
            IFieldSymbol f => f.Type,
            IPropertySymbol p => p.Type,
            _ => null,
        };
        if (targetType is null || target!.ContainingType is not { } owner)
        {
            return; // a local, a parameter, a discard
        }

        foreach (INamedTypeSymbol filter in FilterSymbols.EnclosingFilters(context.ContainingSymbol))
        {
            bool ownMember = FilterSymbols.IsWithin(owner, filter);

            // An instance member of the filter lives as long as its connection; a static member of the filter with a
            // kept type was reported where it is declared.
            if (ownMember && (!target.IsStatic || kept.NameOf(targetType) is not null))
            {
                continue;
            }

            string where = (target.IsStatic ? "in static '" : "in '") + owner.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + "." + target.Name + "'";
            Report(context.ReportDiagnostic, assignment.GetLocation(), FilterSymbols.TypeName(filter), name, where);
        }
    }

    /// <summary>Task.Run and its kind, started and forgotten, with a delegate that uses a context or editor.</summary>
    private static void AnalyzeInvocation(SyntaxNodeAnalysisContext context, KeptTypes kept)
    {
        var invocation = (InvocationExpressionSyntax)context.Node;
        if (IsDiscarded(invocation)
            && context.SemanticModel.GetSymbolInfo(invocation, context.CancellationToken).Symbol is IMethodSymbol method
            && IsDeferring(method))
        {
            InspectDelegates(context, invocation.ArgumentList, "'" + FilterSymbols.MethodDisplay(method) + "', which nobody awaits", kept);
        }
    }

    /// <summary>new Thread and new Timer with a delegate that uses a context or editor.</summary>
    private static void AnalyzeCreation(SyntaxNodeAnalysisContext context, KeptTypes kept)
    {
        var creation = (BaseObjectCreationExpressionSyntax)context.Node;
        if (creation.ArgumentList is { } arguments
            && context.SemanticModel.GetTypeInfo(creation, context.CancellationToken).Type is INamedTypeSymbol created
            && (FilterSymbols.IsNamed(created, "System.Threading.Thread") || FilterSymbols.IsNamed(created, "System.Threading.Timer")))
        {
            InspectDelegates(context, arguments, "'new " + created.Name + "'", kept);
        }
    }

    private static void InspectDelegates(SyntaxNodeAnalysisContext context, ArgumentListSyntax arguments, string runner, KeptTypes kept)
    {
        List<INamedTypeSymbol> filters = FilterSymbols.EnclosingFilters(context.ContainingSymbol);
        if (filters.Count == 0)
        {
            return;
        }

        foreach (ArgumentSyntax argument in arguments.Arguments)
        {
            if (argument.Expression is not AnonymousFunctionExpressionSyntax function)
            {
                continue;
            }

            foreach (IdentifierNameSyntax identifier in function.DescendantNodes().OfType<IdentifierNameSyntax>())
            {
                ITypeSymbol? used = context.SemanticModel.GetSymbolInfo(identifier, context.CancellationToken).Symbol switch
                {
                    IParameterSymbol p when !function.Span.Contains(p.Locations.Length > 0 ? p.Locations[0].SourceSpan : default) => p.Type,
                    ILocalSymbol l when !function.Span.Contains(l.Locations.Length > 0 ? l.Locations[0].SourceSpan : default) => l.Type,
                    IFieldSymbol f => f.Type,
                    IPropertySymbol p => p.Type,
                    _ => null,
                };
                if (kept.NameOf(used) is { } name)
                {
                    foreach (INamedTypeSymbol filter in filters)
                    {
                        Report(context.ReportDiagnostic, function.GetLocation(), FilterSymbols.TypeName(filter), name, "in a delegate given to " + runner);
                    }

                    break;
                }
            }
        }
    }

    private static void Report(System.Action<Diagnostic> report, Location? at, string typeName, string kept, string where)
        => report(Diagnostic.Create(DiagnosticDescriptors.ContextKept, at ?? Location.None, typeName, kept, where));

    /// <summary>Started and forgotten: the call is a statement of its own, or assigned to the discard.</summary>
    private static bool IsDiscarded(InvocationExpressionSyntax invocation)
    {
        SyntaxNode? parent = invocation.Parent;
        while (parent is ParenthesizedExpressionSyntax)
        {
            parent = parent.Parent;
        }

        return parent is ExpressionStatementSyntax
            || (parent is AssignmentExpressionSyntax { Left: IdentifierNameSyntax { Identifier.ValueText: "_" } } discard
                && discard.IsKind(SyntaxKind.SimpleAssignmentExpression));
    }

    /// <summary>Task.Run, TaskFactory.StartNew, ThreadPool.QueueUserWorkItem and its unsafe twin: they run a delegate later.</summary>
    private static bool IsDeferring(IMethodSymbol method)
    {
        INamedTypeSymbol? owner = method.ContainingType;
        return method.Name switch
        {
            "Run" => FilterSymbols.IsNamed(owner, "System.Threading.Tasks.Task"),
            "StartNew" => FilterSymbols.IsNamed(owner?.OriginalDefinition, "System.Threading.Tasks.TaskFactory")
                || FilterSymbols.IsNamed(owner?.OriginalDefinition, "System.Threading.Tasks.TaskFactory<TResult>"),
            "QueueUserWorkItem" or "UnsafeQueueUserWorkItem" => FilterSymbols.IsNamed(owner, "System.Threading.ThreadPool"),
            _ => false,
        };
    }
}
